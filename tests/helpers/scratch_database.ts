// A scratch database file in WAL mode with one table `t (id, name)`, opened by the guarded client
// (db/local_client.ts), removed with its -wal and -shm on dispose.
import { createLocalClient } from "../../db/local_client.ts";

/** A new file with `t` holding `rows` ([id, name] pairs); `ours` is the guarded client on it. */
export async function scratchDatabase(prefix: string, rows: Array<[number, string]>) {
  const path = await Deno.makeTempFile({ prefix, suffix: ".db" });
  const ours = createLocalClient(`file:${path}`);
  await ours.execute("PRAGMA journal_mode = WAL");
  await ours.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
  for (const [id, name] of rows) {
    await ours.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [id, name] });
  }
  return {
    path,
    ours,
    async [Symbol.asyncDispose]() {
      ours.close();
      for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    },
  };
}
