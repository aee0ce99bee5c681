import assert from "node:assert/strict";
import { createCredentialsCipher, maskAccessKeyId } from "../auth/credentials_cipher.ts";
import { environments } from "../db/schema.ts";
import { type TestContext, testContext } from "./helpers/context.ts";
import { assertProblem } from "./helpers/problem.ts";

const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "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";
const SESSION_TOKEN = "FwoGZXIvYXdzSessionTokenThatMustStayEncrypted0123456789";
const CREDENTIALS = {
  accessKeyId: ACCESS_KEY_ID,
  secretAccessKey: SECRET,
  sessionToken: SESSION_TOKEN,
};

const envBody = (extra: Record<string, unknown> = {}) => ({
  name: `env-${crypto.randomUUID().slice(0, 8)}`,
  region: "us-east-1",
  dbInstanceIdentifier: "prod-mysql-1",
  ...extra,
});

function assertNoSecrets(text: string, where: string) {
  assert.ok(!text.includes(SECRET), `${where} contains the secret access key`);
  assert.ok(!text.includes(SESSION_TOKEN), `${where} contains the session token`);
}

/** Every byte of the database on disk, WAL included, as latin1 text to search. */
async function databaseFileText(t: TestContext): Promise<string> {
  const decoder = new TextDecoder("latin1");
  let text = decoder.decode(await Deno.readFile(t.dbPath));
  try {
    text += decoder.decode(await Deno.readFile(`${t.dbPath}-wal`));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return text;
}

Deno.test("POST /api/environments answers credentials masked, never the secret", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", envBody({ credentials: CREDENTIALS }));
  const text = await res.text();
  assert.equal(res.status, 201, text);
  assertNoSecrets(text, "the response");
  const env = JSON.parse(text);
  assert.deepEqual(env.credentials, { source: "environment", accessKeyId: "AKIA…MPLE" });
  assert.ok(!text.includes(ACCESS_KEY_ID), "the full access key id is shown");

  for (const path of ["/api/environments", `/api/environments/${env.id}`]) {
    const read = await (await t.as("alice").get(path)).text();
    assertNoSecrets(read, `GET ${path}`);
    assert.ok(read.includes("AKIA…MPLE"), read);
  }
});

Deno.test("POST /api/environments stores the secret and session token encrypted in the database file", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post("/api/environments", envBody({ credentials: CREDENTIALS }));
  assert.equal(res.status, 201);
  const { id } = await res.json();

  // Before a checkpoint the row may live only in the WAL; after it, only in the main file.
  assertNoSecrets(await databaseFileText(t), "the database files");
  await t.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  const text = await databaseFileText(t);
  assertNoSecrets(text, "the database file");
  // The row really is in the bytes searched: the access key id is stored as is.
  assert.ok(text.includes(ACCESS_KEY_ID), "the access key id is not in the file read");

  const [row] = await t.db.select().from(environments);
  assert.equal(row.id, id);
  assert.equal(row.accessKeyId, ACCESS_KEY_ID);
  // v3: bound to the environment's id as associated data.
  assert.match(row.secretCiphertext ?? "", /^v3\.[0-9a-f]{16}\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
  assert.deepEqual(await t.deps.credentialsCipher!.decrypt(row.secretCiphertext!, id), {
    secretAccessKey: SECRET,
    sessionToken: SESSION_TOKEN,
  });
});

Deno.test("createCredentialsCipher() round-trips a secret with a fresh IV each time", async () => {
  const cipher = await createCredentialsCipher(new Uint8Array(32).fill(3));
  const secret = { secretAccessKey: SECRET, sessionToken: SESSION_TOKEN };
  const first = await cipher.encrypt(secret);
  const second = await cipher.encrypt(secret);
  assert.notEqual(first, second);
  assertNoSecrets(first, "the envelope");
  assertNoSecrets(atob(first.split(".")[3]), "the decoded ciphertext");
  assert.deepEqual(await cipher.decrypt(first), secret);
  assert.deepEqual(await cipher.decrypt(second), secret);
  assert.deepEqual(await cipher.decrypt(await cipher.encrypt({ secretAccessKey: SECRET })), {
    secretAccessKey: SECRET,
  });
});

Deno.test("createCredentialsCipher() refuses envelopes from another key, tampered or unknown", async () => {
  const cipher = await createCredentialsCipher(new Uint8Array(32).fill(3));
  const other = await createCredentialsCipher(new Uint8Array(32).fill(4));
  const envelope = await cipher.encrypt({ secretAccessKey: SECRET });
  await assert.rejects(other.decrypt(envelope));

  const [version, keyId, iv, ciphertext] = envelope.split(".");
  const bytes = Uint8Array.from(atob(ciphertext), (ch) => ch.charCodeAt(0));
  bytes[0] ^= 1;
  const tampered = [version, keyId, iv, btoa(String.fromCharCode(...bytes))].join(".");
  await assert.rejects(cipher.decrypt(tampered));
  await assert.rejects(cipher.decrypt(`v9.${iv}.${ciphertext}`), /Unknown credentials format/);
  await assert.rejects(cipher.decrypt(SECRET), /Unknown credentials format/);
});

Deno.test("maskAccessKeyId() keeps only the first and last four characters", () => {
  assert.equal(maskAccessKeyId(ACCESS_KEY_ID), "AKIA…MPLE");
  assert.equal(maskAccessKeyId("ASIAY34FZKBOKMUTVV7A"), "ASIA…VV7A");
  assert.equal(maskAccessKeyId("SHORTKEY"), "…EY");
});

Deno.test("PATCH /api/environments/{id} replaces credentials and removes them with null", async () => {
  await using t = await testContext();
  const created = await t.as("alice").post(
    "/api/environments",
    envBody({ credentials: CREDENTIALS }),
  );
  const { id } = await created.json();

  const replaced = await t.as("alice").patch(`/api/environments/${id}`, {
    credentials: { accessKeyId: "AKIANEWKEYID00001234", secretAccessKey: "n".repeat(40) },
  });
  assert.equal(replaced.status, 200);
  assert.deepEqual((await replaced.json()).credentials, {
    source: "environment",
    accessKeyId: "AKIA…1234",
  });
  const [row] = await t.db.select().from(environments);
  assert.deepEqual(await t.deps.credentialsCipher!.decrypt(row.secretCiphertext!, id), {
    secretAccessKey: "n".repeat(40),
  });

  const removed = await t.as("alice").patch(`/api/environments/${id}`, { credentials: null });
  assert.equal(removed.status, 200);
  assert.deepEqual((await removed.json()).credentials, { source: "none", accessKeyId: null });
  const [cleared] = await t.db.select().from(environments);
  assert.equal(cleared.accessKeyId, null);
  assert.equal(cleared.secretCiphertext, null);
});

Deno.test("PATCH /api/environments/{id} without credentials keeps the stored ones", async () => {
  await using t = await testContext();
  const created = await t.as("alice").post(
    "/api/environments",
    envBody({ credentials: CREDENTIALS }),
  );
  const { id } = await created.json();
  const [before] = await t.db.select().from(environments);
  const res = await t.as("alice").patch(`/api/environments/${id}`, { name: "renamed" });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).credentials, {
    source: "environment",
    accessKeyId: "AKIA…MPLE",
  });
  const [after] = await t.db.select().from(environments);
  assert.equal(after.secretCiphertext, before.secretCiphertext);
});

Deno.test("GET /api/environments/{id} shows server-wide credentials when the environment has none", async () => {
  await using t = await testContext({
    env: { AWS_ACCESS_KEY_ID: "AKIASERVERWIDE005678", AWS_SECRET_ACCESS_KEY: SECRET },
  });
  const plain = await t.createEnvironment("alice");
  const own = await t.as("alice").post("/api/environments", envBody({ credentials: CREDENTIALS }));
  const ownId = (await own.json()).id;

  const plainText = await (await t.as("alice").get(`/api/environments/${plain.id}`)).text();
  assertNoSecrets(plainText, "the response");
  assert.deepEqual(JSON.parse(plainText).credentials, {
    source: "server",
    accessKeyId: "AKIA…5678",
  });
  const ownEnv = await (await t.as("alice").get(`/api/environments/${ownId}`)).json();
  assert.deepEqual(ownEnv.credentials, { source: "environment", accessKeyId: "AKIA…MPLE" });
});

Deno.test("POST /api/environments with credentials answers 400 naming credentials without CREDENTIALS_KEY", async () => {
  await using t = await testContext({ env: { CREDENTIALS_KEY: "" } });
  assert.equal(t.deps.credentialsCipher, undefined);
  const res = await t.as("alice").post("/api/environments", envBody({ credentials: CREDENTIALS }));
  const problem = await assertProblem(res, 400);
  assert.deepEqual(problem.errors?.map((e) => e.path), ["credentials"]);
  assert.match(problem.detail, /CREDENTIALS_KEY/);
  assertNoSecrets(JSON.stringify(problem), "the problem");
  assert.deepEqual(await (await t.as("alice").get("/api/environments")).json(), []);

  // Without credentials the environment is created and uses nothing (no server-wide keys here).
  const plain = await t.as("alice").post("/api/environments", envBody());
  assert.equal(plain.status, 201);
  const { id, credentials } = await plain.json();
  assert.deepEqual(credentials, { source: "none", accessKeyId: null });
  const patched = await t.as("alice").patch(`/api/environments/${id}`, {
    credentials: CREDENTIALS,
  });
  assert.deepEqual((await assertProblem(patched, 400)).errors?.map((e) => e.path), [
    "credentials",
  ]);
});

Deno.test("POST /api/environments answers 400 for bad credentials without echoing the secret", async () => {
  await using t = await testContext();
  const res = await t.as("alice").post(
    "/api/environments",
    envBody({ credentials: { ...CREDENTIALS, accessKeyId: "not-a-key", extra: SECRET } }),
  );
  const text = await res.clone().text();
  const problem = await assertProblem(res, 400);
  assertNoSecrets(text, "the problem");
  const paths = problem.errors?.map((e) => e.path) ?? [];
  assert.deepEqual(paths.sort(), ["credentials.accessKeyId", "credentials.extra"]);
});

Deno.test("POST, GET and PATCH /api/environments never log the secret or session token", async () => {
  await using t = await testContext();
  const alice = t.as("alice");
  const created = await alice.post("/api/environments", envBody({ credentials: CREDENTIALS }));
  const { id, name } = await created.json();
  await alice.get("/api/environments");
  await alice.get(`/api/environments/${id}`);
  await alice.patch(`/api/environments/${id}`, { credentials: CREDENTIALS });
  await alice.post("/api/environments", envBody({ name, credentials: CREDENTIALS }));
  await alice.post("/api/environments", envBody({ region: "nowhere", credentials: CREDENTIALS }));
  await alice.patch(`/api/environments/${id}`, { credentials: null });
  // A failure logs a stack: close the database so the next write throws.
  t.client.close();
  const failed = await alice.post("/api/environments", envBody({ credentials: CREDENTIALS }));
  assert.equal(failed.status, 500);
  assertNoSecrets(await failed.text(), "the 500 response");

  assert.ok(t.logLines.length >= 8, `only ${t.logLines.length} log lines`);
  assert.ok(t.logLines.some((line) => JSON.parse(line).level === "error"));
  for (const line of t.logLines) assertNoSecrets(line, `the log line ${line}`);
});
