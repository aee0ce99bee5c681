/** Data at rest (issue 17 point 6): private database files, credentials bound to their row. */
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { environments } from "../db/schema.ts";
import { reencryptCredentials } from "../lifecycle/reencrypt_credentials.ts";
import { testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";
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
    // An allowlist entry that matches every instance opens them all just the same.
    for (const every of ["orders-*,*", "arn:aws:rds:*:*:db:*"]) {
      await using star = await startServer({ ...keys, AWS_INSTANCE_ALLOWLIST: every });
      assert.ok(
        star.stdout.some((line) => line.includes("open to every user")),
        `no warning for AWS_INSTANCE_ALLOWLIST=${every}`,
      );
    }
  },
});

Deno.test("A credential envelope copied to another environment's row does not decrypt there (409)", async () => {
  await using t = await testContext({ now: "2026-01-01T01:00:00Z" });
  const keys = (n: number) => ({
    accessKeyId: `AKIAATREST00000000${n}0`,
    secretAccessKey: `at-rest-secret-${n}-000000000000000000000000`,
  });
  const victim = await t.createEnvironment("alice", { credentials: keys(1) });
  const own = await t.createEnvironment("mallory", { credentials: keys(2) });
  const [row] = await t.db.select().from(environments).where(eq(environments.id, victim.id));
  assert.match(row.secretCiphertext!, /^v3\./, "sealed bound to its environment");
  assert.deepEqual(
    await t.deps.credentialsCipher!.decrypt(row.secretCiphertext!, victim.id),
    { secretAccessKey: keys(1).secretAccessKey },
  );
  // Someone who can write the database swaps alice's sealed keys into mallory's row.
  await t.db.update(environments)
    .set({ accessKeyId: row.accessKeyId, secretCiphertext: row.secretCiphertext })
    .where(eq(environments.id, own.id));
  const capture = await t.as("mallory").post("/api/captures", {
    envId: own.id,
    name: "swap",
    start: "2026-01-01T00:00:00Z",
    duration: 600,
  });
  assert.equal(capture.status, 201);
  const { id } = await capture.json();
  const res = await t.as("mallory").get(`/api/captures/${id}/metrics`);
  const body = await assertProblem(res, 409);
  assert.match(body.detail, /do not decrypt/);
  assert.ok(!JSON.stringify(body).includes(keys(1).secretAccessKey));
});

Deno.test("reencryptCredentials() binds older unbound (v2) envelopes to their environment", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("alice");
  const cipher = t.deps.credentialsCipher!;
  const legacy = await cipher.encrypt({ secretAccessKey: "legacy-secret" });
  assert.match(legacy, /^v2\./);
  await t.db.update(environments)
    .set({ accessKeyId: "AKIALEGACY0000000001", secretCiphertext: legacy })
    .where(eq(environments.id, env.id));
  assert.deepEqual(await reencryptCredentials(t.db, cipher), {
    reencrypted: 1,
    undecryptable: [],
    current: 0,
    left: 0,
  });
  const [row] = await t.db.select().from(environments).where(eq(environments.id, env.id));
  assert.match(row.secretCiphertext!, /^v3\./);
  assert.deepEqual(await cipher.decrypt(row.secretCiphertext!, env.id), {
    secretAccessKey: "legacy-secret",
  });
  await assert.rejects(cipher.decrypt(row.secretCiphertext!, env.id + 1));
});
