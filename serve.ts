import type { Logger } from "./logger.ts";

/** A Deno.serve server that comes back after its accept loop fails; see serveResiliently. */
export interface ResilientServer {
  /** The address of the first listener; a restarted one listens on the same host and port. */
  addr: Deno.NetAddr;
  /** Stops accepting (and restarting); resolves when the requests in flight have answered. */
  shutdown(): Promise<void>;
}

/**
 * Deno.serve, restarted when its accept loop dies. Out of file descriptors ("Too many open
 * files", EMFILE), Deno 2.9's accept loop ends, `finished` rejects and the port is closed: left
 * alone that is an uncaught rejection that exits the process, and handled, a process that no
 * longer listens. Here the failure is logged and the same host and port are listened on again
 * every `retryMs` until it works, so the server recovers once descriptors are freed.
 * The first Deno.serve call throws as usual (AddrInUse, PermissionDenied).
 */
export function serveResiliently(
  options: Deno.ServeTcpOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  logger: Logger,
  retryMs = 1000,
): ResilientServer {
  let current = Deno.serve(options, handler);
  const addr = current.addr;
  let stopping = false;

  const watch = (server: Deno.HttpServer<Deno.NetAddr>) => {
    server.finished.catch(async (error) => {
      if (stopping) return;
      logger.error("the server stopped accepting connections; listening again", {
        error: error instanceof Error ? error.message : String(error),
        retryMs,
      });
      let attempts = 0;
      while (!stopping) {
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        if (stopping) return;
        attempts++;
        try {
          current = Deno.serve({
            ...options,
            hostname: addr.hostname,
            port: addr.port,
            onListen: () => logger.info("listening again", { port: addr.port, attempts }),
          }, handler);
          watch(current);
          return;
        } catch (error) {
          logger.debug("cannot listen yet", { error: String(error), attempts });
        }
      }
    });
  };
  watch(current);

  return {
    addr,
    shutdown() {
      stopping = true;
      return current.shutdown();
    },
  };
}
