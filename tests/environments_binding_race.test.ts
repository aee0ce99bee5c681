/**
 * Issue 17 review item 1: the instance policy is judged on the environment as read, so the write
 * must carry that state. Two real capwatch processes on one database file: process A moves an
 * environment with its own keys to an unlisted instance (fine: own keys) while process B drops its
 * keys (fine: the listed instance). Each alone is allowed; both together would read the unlisted
 * instance with the server's credentials. Read back from a fresh connection, that never happens.
 */
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { mintToken } from "../auth/mint.ts";
import { TEST_CREDENTIALS_KEY, TEST_SECRET } from "./helpers/context.ts";
import { OWN_KEYS, SERVER_KEYS } from "./helpers/instance_policy.ts";
import { callJson as call, startTwoOnOneFile, within } from "./helpers/process.ts";

const ROUNDS = 40;

/** The environment's binding, read on a connection of its own. */
async function binding(dbPath: string, envId: number) {
  const client = createClient({ url: `file:${dbPath}` });
  try {
    const { rows: [row] } = await client.execute({
      sql: "SELECT db_instance_identifier, secret_ciphertext, role_arn FROM environments " +
        "WHERE id = ?",
      args: [envId],
    });
    return {
      instance: String(row.db_instance_identifier),
      server: row.secret_ciphertext === null && row.role_arn === null,
    };
  } finally {
    client.close();
  }
}

Deno.test("two processes: a new instance and dropped keys, raced, never bind an unlisted instance to server credentials", async () => {
  // RDS answers every lookup at once with a refusal, so a change's after-write lookup is quick.
  await using rds = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(
        "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
        { status: 403, headers: { "Content-Type": "text/xml" } },
      ),
  );
  const settings = {
    ...SERVER_KEYS,
    AWS_INSTANCE_ALLOWLIST: "allowed-db",
    CREDENTIALS_KEY: TEST_CREDENTIALS_KEY,
    RDS_ENDPOINT: `http://127.0.0.1:${rds.addr.port}/`,
  };
  await using pair = await startTwoOnOneFile(settings);
  const { a, b } = pair;
  const owner = await mintToken(TEST_SECRET, { sub: "race-owner" });

  const created = await call(a.url, owner, "POST", "/api/environments", {
    name: "race",
    region: "us-east-1",
    dbInstanceIdentifier: "allowed-db",
    credentials: OWN_KEYS,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const envId: number = created.body.id;
  const path = `/api/environments/${envId}`;
  const seen: Record<string, number> = {};

  for (let round = 0; round < ROUNDS; round++) {
    const [moved, dropped] = await within(
      Promise.all([
        call(a.url, owner, "PATCH", path, { dbInstanceIdentifier: "victim-db" }),
        call(b.url, owner, "PATCH", path, { credentials: null }),
      ]),
      30_000,
      `round ${round}`,
    );
    for (const [what, res] of [["move", moved], ["drop", dropped]] as const) {
      assert.ok([200, 403, 409].includes(res.status), `${what}: ${JSON.stringify(res.body)}`);
      seen[`${what} ${res.status}`] = (seen[`${what} ${res.status}`] ?? 0) + 1;
    }
    const after = await binding(a.dbPath, envId);
    assert.ok(
      !(after.instance === "victim-db" && after.server),
      `round ${round}: victim-db is bound to the server's credentials ` +
        `(move ${moved.status}, drop ${dropped.status})`,
    );
    const reset = await call(a.url, owner, "PATCH", path, {
      dbInstanceIdentifier: "allowed-db",
      credentials: OWN_KEYS,
    });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
  }
  console.log(`  ${ROUNDS} rounds: ${JSON.stringify(seen)}`);
});
