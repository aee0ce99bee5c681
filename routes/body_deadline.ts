import { createMiddleware } from "hono/factory";
import { problem } from "../http/problem.ts";
import type { AppEnv } from "../http/router.ts";

/**
 * Bounds how long a request body may take to arrive: `timeoutMs` after the request reached
 * capwatch, a body still being read is cut off and the caller gets a 408 problem with
 * `Connection: close`. Deno.serve has no body timeout of its own, so a client trickling one
 * byte a second would otherwise hold a request (and its connection) for as long as it likes.
 * A body nobody reads is left alone: only a read in progress can time out.
 */
export const bodyDeadline = (timeoutMs: number) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const source = c.req.raw.body;
    if (!source) return next();
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
          controller.error(new Error("The request body did not arrive in time"));
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
    if (expired) {
      c.res = undefined;
      c.res = problem(
        c,
        408,
        `The request body must arrive within ${timeoutMs / 1000} s; send it again`,
        { headers: { Connection: "close" } },
      );
    }
  });
