/**
 * A foreign process that holds a SQLite file's write lock: `deno run … lock_holder.ts <path>
 * <holdMs>` takes the lock with BEGIN IMMEDIATE (waiting up to 15 s for it), prints `locked`,
 * writes nothing, sleeps `holdMs`, commits and prints `released`. Exit code 2 when it never got
 * the lock (another process kept it the whole time).
 */
import { createClient } from "@libsql/client";

const [path, holdText] = Deno.args;
const holdMs = Number(holdText);
if (!path || !Number.isFinite(holdMs)) {
  console.error("usage: lock_holder.ts <database file> <hold ms>");
  Deno.exit(64);
}

// `timeout` is the busy timeout of the connection BEGIN IMMEDIATE runs on; this process has
// nothing else to do, so waiting on its JS thread is fine.
const client = createClient({ url: `file:${path}`, timeout: 15_000, concurrency: 1 });
let tx;
try {
  tx = await client.transaction("write");
} catch (error) {
  console.log(JSON.stringify({ msg: "gave up", error: String(error) }));
  client.close();
  Deno.exit(2);
}
console.log(JSON.stringify({ msg: "locked", at: Date.now() }));
await new Promise((resolve) => setTimeout(resolve, holdMs));
await tx.commit();
console.log(JSON.stringify({ msg: "released", at: Date.now() }));
client.close();
