/** A libSQL client that behaves like a remote one for races between requests in one process. */
import type { Client } from "@libsql/client";

/**
 * `client`, pausing 0-4 ms before and after every execute and batch as a remote database (Turso)
 * would. The embedded client answers synchronously, so without this the requests never interleave
 * between two queries and a check-then-act race could not show.
 */
export function remoteLike(client: Client): Client {
  const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
  return new Proxy(client, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (key !== "execute" && key !== "batch") return value.bind(target);
      return async (...args: unknown[]) => {
        await pause();
        const result = await value.apply(target, args);
        await pause();
        return result;
      };
    },
  });
}
