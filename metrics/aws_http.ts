/**
 * The rules every HTTP call to AWS follows, whatever the service: no redirect is followed (a
 * redirect would carry the signed request and session token to another host), an answer is read
 * up to a size cap, and an upstream `Retry-After` is bounded before anyone waits on it.
 */

/** The most bytes of one AWS answer capwatch reads: 10 MiB (a full GetMetricData page is ~5 MB). */
export const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

/** The bounds, in seconds, of a Retry-After taken from upstream. */
export const RETRY_AFTER_MIN_S = 1;
export const RETRY_AFTER_MAX_S = 60;

/** An AWS answer read whole, or why it was refused (`redirect`, `too_large`: both end as a 502). */
export type UpstreamAnswer =
  | { ok: true; status: number; headers: Headers; text: string }
  | { ok: false; reason: "redirect" | "too_large"; status: number; message: string };

/** Options of one call: the service's name for messages, the `fetch` to use and the size cap. */
export interface UpstreamOptions {
  /** How messages name the upstream, e.g. "CloudWatch". */
  service: string;
  fetch?: typeof fetch;
  maxBytes?: number;
}

/**
 * Sends a signed request with redirects off and reads the answer as text up to `maxBytes`.
 * Network errors and the request's own abort signal reject as `fetch` does; the signal also
 * covers reading the body.
 */
export async function fetchUpstream(
  request: Request,
  options: UpstreamOptions,
): Promise<UpstreamAnswer> {
  const maxBytes = options.maxBytes ?? MAX_ANSWER_BYTES;
  const host = new URL(request.url).host;
  const res = await (options.fetch ?? fetch)(new Request(request, { redirect: "manual" }));
  if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
    await res.body?.cancel();
    return {
      ok: false,
      reason: "redirect",
      status: res.status,
      message: `${options.service} at ${host} answered HTTP ${res.status} with a redirect; ` +
        `capwatch does not follow redirects from AWS`,
    };
  }
  const tooLarge = {
    ok: false,
    reason: "too_large",
    status: res.status,
    message: `${options.service} at ${host} sent an answer larger than ${maxBytes} bytes`,
  } as const;
  const declared = res.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await res.body?.cancel();
    return tooLarge;
  }
  const bytes = await readCapped(res.body, maxBytes);
  if (!bytes) return tooLarge;
  return {
    ok: true,
    status: res.status,
    headers: res.headers,
    text: new TextDecoder().decode(bytes),
  };
}

/** The body's bytes, or undefined (and the stream cancelled) once it passes `maxBytes`. */
async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{2}:\\d{2}:\\d{2}";
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must read.
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} (?: \\d|\\d{2}) ${TIME} \\d{4}$`);

/**
 * An upstream `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as whole seconds
 * within 1..60, or undefined when absent or unreadable. `nowMs` is epoch milliseconds.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let seconds: number;
  if (/^\d+$/.test(text)) {
    seconds = Number(text);
  } else if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) {
    seconds = Math.ceil((Date.parse(text) - nowMs) / 1000);
  } else if (ASCTIME_DATE.test(text)) {
    // asctime carries no zone; HTTP dates are always UTC.
    seconds = Math.ceil((Date.parse(`${text} GMT`) - nowMs) / 1000);
  } else {
    return undefined;
  }
  if (Number.isNaN(seconds)) return undefined;
  return Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, seconds));
}
