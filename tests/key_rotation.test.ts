import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { createCredentialsCipher, credentialsKeyId } from "../auth/credentials_cipher.ts";
import { mintToken } from "../auth/mint.ts";
import { environments } from "../db/schema.ts";
import { reencryptCredentials } from "../lifecycle/reencrypt_credentials.ts";
import { startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { testContext } from "./helpers/context.ts";
import { logLines, startServer } from "./helpers/process.ts";
import { TEST_SECRET } from "./helpers/context.ts";

const keyOf = (fill: number) => new Uint8Array(32).fill(fill);
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const KEY_A = keyOf(0xa);
const KEY_B = keyOf(0xb);
const ENV_KEYS = {
  accessKeyId: "AKIAROTATIONTEST0001",
  secretAccessKey: "RotationSecretThatMustSurviveTheKeyChange",
};
const SECRET = { secretAccessKey: ENV_KEYS.secretAccessKey };

/** A v1 envelope (before key ids), as capwatch wrote them: v1.<iv>.<ciphertext>. */
async function v1Envelope(keyBytes: Uint8Array, secret: object): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes as Uint8Array<ArrayBuffer>,
    "AES-GCM",
    false,
    ["encrypt"],
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv,
      additionalData: new TextEncoder().encode("capwatch:environment-credentials:v1"),
    },
    key,
    new TextEncoder().encode(JSON.stringify(secret)),
  );
  return `v1.${base64(iv)}.${base64(new Uint8Array(ciphertext))}`;
}

Deno.test("the cipher names its key in the envelope; a previous key still decrypts, only the current one encrypts", async () => {
  const a = await createCredentialsCipher(KEY_A);
  const rotating = await createCredentialsCipher(KEY_B, [KEY_A]);
  const fromA = await a.encrypt(SECRET);
  assert.equal(fromA.split(".")[1], await credentialsKeyId(KEY_A));
  assert.deepEqual(await rotating.decrypt(fromA), SECRET);
  assert.ok(rotating.isStale(fromA));

  const fromB = await rotating.encrypt(SECRET, 7);
  assert.equal(fromB.split(".")[1], await credentialsKeyId(KEY_B));
  assert.ok(!rotating.isStale(fromB));
  await assert.rejects(a.decrypt(fromB, 7), /does not hold/);
  // Unbound (v2) envelopes under the current key still open, and count as stale.
  assert.ok(rotating.isStale(await rotating.encrypt(SECRET)));

  // Envelopes from before key ids open with whichever key sealed them, and count as stale.
  const legacy = await v1Envelope(KEY_A, SECRET);
  assert.deepEqual(await rotating.decrypt(legacy), SECRET);
  assert.ok(rotating.isStale(legacy));
  await assert.rejects((await createCredentialsCipher(KEY_B)).decrypt(legacy));
});

Deno.test("reencryptCredentials() moves rows to the current key, skips current ones, reports what no key opens", async () => {
  await using t = await testContext({ env: { CREDENTIALS_KEY: base64(KEY_A) } });
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await t.createEnvironment("owner", { credentials: ENV_KEYS })).id);
  }
  // One row from before key ids, one sealed by a key nobody holds any more.
  await t.db.update(environments).set({ secretCiphertext: await v1Envelope(KEY_A, SECRET) })
    .where(eq(environments.id, ids[1]));
  const lost = await (await createCredentialsCipher(keyOf(0xc))).encrypt(SECRET);
  await t.db.update(environments).set({ secretCiphertext: lost }).where(
    eq(environments.id, ids[2]),
  );

  const b = await createCredentialsCipher(KEY_B, [KEY_A]);
  assert.deepEqual(await reencryptCredentials(t.db, b), {
    reencrypted: 2,
    undecryptable: [ids[2]],
    current: 0,
    left: 1,
  });
  const rows = await t.db.select().from(environments).orderBy(environments.id);
  for (const row of rows.slice(0, 2)) {
    assert.ok(!b.isStale(row.secretCiphertext!));
    assert.deepEqual(
      await (await createCredentialsCipher(KEY_B)).decrypt(row.secretCiphertext!, row.id),
      SECRET,
    );
  }
  assert.equal(rows[2].secretCiphertext, lost);
  assert.deepEqual(await reencryptCredentials(t.db, b), {
    reencrypted: 0,
    undecryptable: [ids[2]],
    current: 2,
    left: 1,
  });
});

Deno.test("rotating CREDENTIALS_KEY: metrics answer 200 with key A rows, start re-encrypts them, then B alone reads them", async () => {
  await using fake = await startFakeCloudWatch({ credentials: [ENV_KEYS] });
  // The environment and its capture are made under key A, in real time (the servers' clock).
  const now = new Date();
  await using t = await testContext({
    now: now.toISOString(),
    env: { CREDENTIALS_KEY: base64(KEY_A), CLOUDWATCH_ENDPOINT: fake.url },
  });
  const env = await t.createEnvironment("owner", { credentials: ENV_KEYS });
  const created = await t.as("owner").post("/api/captures", {
    name: "rotation",
    envId: env.id,
    // Running: no snapshot is taken, so every read asks CloudWatch with decrypted keys.
    start: new Date(now.getTime() - 3600_000).toISOString(),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const capture = await created.json();
  assert.equal(capture.status, "RUNNING");
  const captureId = capture.id;
  const envelopeA = (await t.db.select().from(environments))[0].secretCiphertext!;
  assert.equal(envelopeA.split(".")[1], await credentialsKeyId(KEY_A));

  // In-process, B with A as previous reads rows still sealed by A.
  await using during = await testContext({
    now: now.toISOString(),
    env: {
      CREDENTIALS_KEY: base64(KEY_B),
      CREDENTIALS_KEY_PREVIOUS: base64(KEY_A),
      CLOUDWATCH_ENDPOINT: fake.url,
      DATABASE_URL: `file:${t.dbPath}`,
    },
  });
  const read = await during.as("owner").get(`/api/captures/${captureId}/metrics`);
  assert.equal(read.status, 200, await read.text());

  const token = await mintToken(TEST_SECRET, { sub: "owner", ttlSeconds: 600 });
  const metrics = (url: string) =>
    fetch(`${url}/api/captures/${captureId}/metrics`, {
      headers: { Authorization: `Bearer ${token}` },
    });
  const common = { DATABASE_URL: `file:${t.dbPath}`, CLOUDWATCH_ENDPOINT: fake.url };
  {
    await using server = await startServer({
      ...common,
      CREDENTIALS_KEY: base64(KEY_B),
      CREDENTIALS_KEY_PREVIOUS: base64(KEY_A),
    });
    const res = await metrics(server.url);
    assert.equal(res.status, 200, await res.text());
    const line = await server.waitForLine((l) => l.includes('"credentials re-encrypted"'));
    assert.equal(JSON.parse(line).reencrypted, 1);
    assert.equal(JSON.parse(line).keyId, await credentialsKeyId(KEY_B));
    for (const entry of logLines(server)) {
      assert.ok(!JSON.stringify(entry).includes(ENV_KEYS.secretAccessKey));
    }
  }
  const envelopeB = (await t.db.select().from(environments))[0].secretCiphertext!;
  assert.equal(envelopeB.split(".")[1], await credentialsKeyId(KEY_B));

  {
    await using server = await startServer({ ...common, CREDENTIALS_KEY: base64(KEY_B) });
    const res = await metrics(server.url);
    assert.equal(res.status, 200, await res.text());
  }
  assert.ok(fake.calls.length >= 3 && fake.calls.every((c) => c.status === 200));
});

Deno.test("a rolling rotation (NEXT everywhere, then promote, then drop) never answers 409 with old and new instances overlapping", async () => {
  const patchedKeys = { ...ENV_KEYS, accessKeyId: "AKIAROTATIONTEST0002" };
  await using fake = await startFakeCloudWatch({ credentials: [ENV_KEYS, patchedKeys] });
  const now = new Date();
  await using t = await testContext({
    now: now.toISOString(),
    env: { CREDENTIALS_KEY: base64(KEY_A), CLOUDWATCH_ENDPOINT: fake.url },
  });
  const env = await t.createEnvironment("owner", { credentials: ENV_KEYS });
  const created = await t.as("owner").post("/api/captures", {
    name: "rolling",
    envId: env.id,
    start: new Date(now.getTime() - 3600_000).toISOString(),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const captureId = (await created.json()).id;
  const token = await mintToken(TEST_SECRET, { sub: "owner", ttlSeconds: 600 });
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const read = async (server: { url: string }) => {
    const res = await fetch(`${server.url}/api/captures/${captureId}/metrics`, { headers });
    assert.equal(res.status, 200, `${server.url}: ${await res.text()}`);
  };
  const sealedBy = async () =>
    (await t.db.select().from(environments))[0].secretCiphertext!.split(".")[1];
  const idB = await credentialsKeyId(KEY_B);
  const common = {
    DATABASE_URL: `file:${t.dbPath}`,
    CLOUDWATCH_ENDPOINT: fake.url,
    SWEEP_INTERVAL: "1s",
  };

  // Phase 1 rolls: an instance on A alone beside one that also holds B to decrypt.
  await using old = await startServer({ ...common, CREDENTIALS_KEY: base64(KEY_A) });
  await using phase1 = await startServer({
    ...common,
    CREDENTIALS_KEY: base64(KEY_A),
    CREDENTIALS_KEY_NEXT: base64(KEY_B),
  });
  await read(old);
  await read(phase1);
  await old[Symbol.asyncDispose]();

  // Phase 2 rolls: the phase-1 instance beside a promoted one, which moves the row to B.
  await using promoted = await startServer({
    ...common,
    CREDENTIALS_KEY: base64(KEY_B),
    CREDENTIALS_KEY_PREVIOUS: base64(KEY_A),
  });
  await promoted.waitForLine((l) => l.includes('"credentials re-encrypted"'));
  assert.equal(await sealedBy(), idB);
  await read(phase1);
  await read(promoted);
  // A PATCH through the instance still on A seals under A after the promoted one's start...
  const patched = await fetch(`${phase1.url}/api/environments/${env.id}`, {
    method: "PATCH",
    headers,
    body: JSON.stringify({ credentials: patchedKeys }),
  });
  assert.equal(patched.status, 200, await patched.text());
  const accessKey = async () => (await t.db.select().from(environments))[0].accessKeyId;
  assert.equal(await accessKey(), patchedKeys.accessKeyId);
  await read(phase1);
  await read(promoted);
  // ...and the promoted instance's sweep moves it to B again; the phase-1 one never moves it back.
  // (The promoted instance's sweep may already have moved it: every second.)
  for (let tries = 0; (await sealedBy()) !== idB; tries++) {
    assert.ok(tries < 200, "the promoted instance's sweeps never re-encrypted the PATCHed row");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await read(phase1);
  assert.ok(
    promoted.stdout.some((l) => l.includes('"credentials re-encrypted"') && l.includes('"left":0')),
  );
  await phase1[Symbol.asyncDispose]();

  // Phase 3: B alone reads every row.
  await using dropped = await startServer({ ...common, CREDENTIALS_KEY: base64(KEY_B) });
  await read(dropped);
  await read(promoted);
  assert.ok(!dropped.stdout.some((l) => l.includes("no configured key opens")));
  assert.ok(fake.calls.every((c) => c.status === 200));
});

Deno.test("CREDENTIALS_KEY_NEXT: what it sealed opens and is not stale; it never encrypts", async () => {
  const phase1 = await createCredentialsCipher(KEY_A, [], [KEY_B]);
  const promoted = await createCredentialsCipher(KEY_B, [KEY_A]);
  const fromB = await promoted.encrypt(SECRET, 3);
  assert.deepEqual(await phase1.decrypt(fromB, 3), SECRET);
  assert.ok(!phase1.isStale(fromB));
  const fromA = await phase1.encrypt(SECRET, 3);
  assert.equal(fromA.split(".")[1], await credentialsKeyId(KEY_A));
  assert.ok(promoted.isStale(fromA));
  // Unbound envelopes are still re-sealed (bound) whichever key sealed them.
  assert.ok(phase1.isStale(await promoted.encrypt(SECRET)));
});
