import type { Context, HonoRequest } from "hono";
import { createMiddleware } from "hono/factory";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";

/** A request body still arriving when its deadline passed; `timeoutMs` is the deadline. */
export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super("The request body did not arrive in time");
  }
}

/**
 * Bounds how long a request body may take to arrive: `timeoutMs` after the request reached
 * capwatch, a body still being read is cut off and the caller gets a 408 problem with
 * `Connection: close`. Deno.serve has no body timeout of its own, so a client trickling one
 * byte a second would otherwise hold a request (and its connection) for as long as it likes.
 * A body nobody reads is left alone: only a read in progress can time out.
 */
export const bodyDeadline = (timeoutMs: number) => {
  const watch = deadlineWatch();
  return createMiddleware<AppEnv>(async (c, next) => {
    const source = c.req.raw.body;
    if (!source) return next();
    const headers = c.req.raw.headers;
    // With a Content-Length (and no Transfer-Encoding) only Hono's body cache reads the body: the
    // body limit after this trusts the length and reads nothing. The deadline then bounds that
    // one read, so no second stream and no copy of the request per POST (~30-40 µs of CPU).
    if (headers.has("content-length") && !headers.has("transfer-encoding")) {
      const expired = boundCachedRead(c.req, timeoutMs, watch);
      try {
        await next();
      } catch (error) {
        if (!expired()) throw error;
      }
      if (expired()) timedOut(c, timeoutMs);
      return;
    }
    const reader = source.getReader();
    let reading = false;
    let finished = false;
    let expired = false;
    const timer = setTimeout(() => {
      if (!reading || finished) return;
      expired = true;
      // Resolves the pending read with done, which pull() below turns into an error.
      reader.cancel().catch(() => {});
    }, timeoutMs);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        reading = true;
        const { done, value } = await reader.read();
        if (expired) {
          controller.error(new BodyTimeoutError(timeoutMs));
        } else if (done) {
          finished = true;
          controller.close();
        } else {
          controller.enqueue(value);
        }
      },
      cancel(reason) {
        finished = true;
        return reader.cancel(reason);
      },
    });
    c.req.raw = new Request(c.req.raw, { body, duplex: "half" } as RequestInit);
    try {
      await next();
    } catch (error) {
      if (!expired) throw error;
    } finally {
      clearTimeout(timer);
    }
    // The reader saw an error (a 400 "not valid JSON", or a throw); the real cause is time.
    if (expired) timedOut(c, timeoutMs);
  });
};

function timedOut(c: Context<AppEnv>, timeoutMs: number) {
  c.res = undefined;
  c.res = bodyTimeoutProblem(c, timeoutMs);
}

/** The 408 problem for a body that did not arrive within `timeoutMs`, closing the connection. */
export function bodyTimeoutProblem(c: Context<AppEnv>, timeoutMs: number) {
  return problem(
    c,
    408,
    `The request body must arrive within ${timeoutMs / 1000} s; send it again`,
    { headers: { Connection: "close" } },
  );
}

/**
 * Makes Hono's body cache read the request's body (on first use, as `raw.arrayBuffer()` would)
 * cut off `timeoutMs` from now if still arriving then, as the stream above
 * does: a body nobody reads is not read, and a read that starts after the deadline is not cut.
 * Hono's `text()`, `json()` and `arrayBuffer()` all come through this entry. Returns whether the
 * read was cut off.
 */
function boundCachedRead(req: HonoRequest, timeoutMs: number, watch: DeadlineWatch): () => boolean {
  const deadline = performance.now() + timeoutMs;
  let expired = false;
  let read: Promise<ArrayBuffer> | undefined;
  Object.defineProperty(req.bodyCache, "arrayBuffer", {
    configurable: true,
    enumerable: true,
    get: () => read ??= readBefore(req.raw, deadline, timeoutMs, watch, () => expired = true),
  });
  return () => expired;
}

async function readBefore(
  request: Request,
  deadline: number,
  timeoutMs: number,
  watch: DeadlineWatch,
  onExpired: () => void,
): Promise<ArrayBuffer> {
  const reader = request.body!.getReader();
  let expired = false;
  const watched: Watched | undefined = deadline > performance.now()
    ? {
      deadline,
      expire() {
        expired = true;
        onExpired();
        // Resolves the pending read with done, which the loop below turns into an error.
        reader.cancel().catch(() => {});
      },
    }
    : undefined;
  if (watched) watch.add(watched);
  try {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (expired) throw new BodyTimeoutError(timeoutMs);
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    const whole = chunks.length === 1 ? chunks[0] : new Uint8Array(size);
    if (chunks.length !== 1) {
      let offset = 0;
      for (const chunk of chunks) {
        whole.set(chunk, offset);
        offset += chunk.byteLength;
      }
    }
    return whole.byteOffset === 0 && whole.byteLength === whole.buffer.byteLength
      ? whole.buffer as ArrayBuffer
      : whole.slice().buffer;
  } finally {
    if (watched) watch.remove(watched);
  }
}

/** A read watched for its deadline (performance.now() ms); `expire` cuts it off. */
interface Watched {
  deadline: number;
  expire(): void;
}

/** The reads in progress under one bodyDeadline, each cut off at its own deadline. */
interface DeadlineWatch {
  add(read: Watched): void;
  remove(read: Watched): void;
}

/**
 * One timer for all the reads in progress, armed for the earliest deadline among them, instead
 * of a timer per body (setting and clearing one was ~3-4 µs of a POST's CPU): when it fires it
 * cuts off every read whose deadline has come and re-arms for the next. A read cut off when the
 * timer fires is cut at its own deadline, as its own timer would have; with no read in progress
 * no timer is left (nothing keeps the process alive, and a lone request pays for its timer as
 * before).
 */
function deadlineWatch(): DeadlineWatch {
  const reads = new Set<Watched>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the timer is armed for. */
  let armedFor = Number.POSITIVE_INFINITY;

  function arm(deadline: number) {
    if (timer !== undefined) clearTimeout(timer);
    armedFor = deadline;
    timer = setTimeout(fire, Math.max(0, deadline - performance.now()));
  }

  function fire() {
    timer = undefined;
    armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const read of reads) {
      if (read.deadline <= now) {
        reads.delete(read);
        read.expire();
      } else if (read.deadline < next) {
        next = read.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) arm(next);
  }

  return {
    add(read) {
      reads.add(read);
      if (read.deadline < armedFor) arm(read.deadline);
    },
    remove(read) {
      reads.delete(read);
      if (reads.size === 0 && timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
        armedFor = Number.POSITIVE_INFINITY;
      }
    },
  };
}
