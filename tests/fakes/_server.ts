/** The listener every fake AWS endpoint shares: a real HTTP server on 127.0.0.1, port 0. */

/** A running fake's address and its once-only close. */
export interface FakeListener extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/`, the port the OS chose. */
  url: string;
  /** Aborts `closing` (so answers held open end) and shuts the server down; later calls wait too. */
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 at an OS-chosen port; `closing` is aborted on close. */
export function serveFake(
  handler: (req: Request) => Response | Promise<Response>,
  closing: AbortController = new AbortController(),
): FakeListener {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing.abort();
      await server.shutdown();
    })();
    return closed;
  };
  return { url: `http://127.0.0.1:${server.addr.port}/`, close, [Symbol.asyncDispose]: close };
}
