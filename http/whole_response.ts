/*
 * Deno turns a Response made from a string body into its wire form when it is constructed, and
 * throws that away as soon as anything reads `.headers` afterwards (ext/fetch/23_response.js
 * responseHeaders → dropServeNativeResponse). So hot answers are built once with every header
 * (http/answer.ts), and the middleware that would add or check headers after the handler skips
 * them.
 */

const whole = new WeakSet<Response>();

/** Records that `res` holds every header its request needs, each value already checked. */
export function markWhole(res: Response): Response {
  whole.add(res);
  return res;
}

/** True when `res` was built whole: nothing after the handler adds to or checks its headers. */
export function isWhole(res: Response): boolean {
  return whole.has(res);
}
