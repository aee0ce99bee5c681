/** Data at rest (issue 17 point 6): private database files, credentials bound to their row. */
import assert from "node:assert/strict";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { TEST_CREDENTIALS } from "./fakes/cloudwatch.ts";
import { startServer } from "./helpers/process.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test({
  name:
    "openDatabase() creates the libSQL file and its -wal and -shm 0600, and tightens an old 0644 one",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "capwatch-mode-" });
    try {
      const path = `${dir}/fresh.db`;
      const database = await openDatabase(`file:${path}`);
      await migrateDatabase(database.db);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.equal((await modeOf(file)).toString(8), "600", file);
      }
      database.close();
      const old = `${dir}/old.db`;
      await Deno.writeFile(old, new Uint8Array(), { mode: 0o644 });
      await Deno.chmod(old, 0o644);
      const reopened = await openDatabase(`file:${old}`);
      await migrateDatabase(reopened.db);
      for (const file of [old, `${old}-wal`, `${old}-shm`]) {
        assert.equal((await modeOf(file)).toString(8), "600", file);
      }
      reopened.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "main.ts makes its database 0600 and warns when server credentials are open to every user",
  ignore: Deno.build.os === "windows",
  async fn() {
    const keys = {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
    {
      await using open = await startServer(keys);
      assert.equal((await modeOf(open.dbPath)).toString(8), "600");
      const warning = await open.waitForLine((line) => line.includes("open to every user"));
      assert.match(warning, /"level":"warn"/);
      assert.match(warning, /AWS_INSTANCE_ALLOWLIST/);
    }
    await using restricted = await startServer({ ...keys, AWS_INSTANCE_ALLOWLIST: "orders-*" });
    assert.ok(!restricted.stdout.some((line) => line.includes("open to every user")));
  },
});
