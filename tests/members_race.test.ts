/**
 * Issue 17 point 4: a role lost mid-request cannot slip through. Two real capwatch processes on
 * one database file: process A demotes an admin while process B, with that admin's token, keeps
 * changing the environment and its members. Once the demotion is answered, nothing the demoted
 * admin sends commits, read back from a fresh connection.
 */
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { mintToken } from "../auth/mint.ts";
import { TEST_SECRET } from "./helpers/context.ts";
import { callJson as call, startTwoOnOneFile, within } from "./helpers/process.ts";

const ROUNDS = 3;
const WORKERS = 6;
const BOSS = "race-boss";
const MALLORY = "race-mallory";

/** What mallory's changes can touch, read on a connection of its own. */
async function state(dbPath: string, envId: number) {
  const client = createClient({ url: `file:${dbPath}` });
  try {
    const [env, members] = await client.batch([
      { sql: "SELECT * FROM environments WHERE id = ?", args: [envId] },
      {
        sql: "SELECT user_id, role FROM memberships WHERE env_id = ? ORDER BY user_id",
        args: [envId],
      },
    ], "read");
    return {
      env: env.rows.map((r) => ({ ...r })),
      members: members.rows.map((r) => `${r.user_id}:${r.role}`),
    };
  } finally {
    client.close();
  }
}

Deno.test("two processes: after a demotion is answered, no change by the demoted admin commits", async () => {
  await using pair = await startTwoOnOneFile();
  const { a, b } = pair;
  const boss = await mintToken(TEST_SECRET, { sub: BOSS });
  const mallory = await mintToken(TEST_SECRET, { sub: MALLORY });

  const created = await call(a.url, boss, "POST", "/api/environments", {
    name: "race",
    region: "us-east-1",
    dbInstanceIdentifier: "race-db",
  });
  assert.equal(created.status, 201);
  const envId: number = created.body.id;
  const totals = { before: 0, after: 0, refusedAfter: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const promote = await call(
      a.url,
      boss,
      "PUT",
      `/api/environments/${envId}/members/${MALLORY}`,
      {
        role: "admin",
      },
    );
    assert.ok(promote.status === 200 || promote.status === 201, `promote: ${promote.status}`);
    for (let i = 0; i < WORKERS * 4; i++) {
      const seeded = await call(
        a.url,
        boss,
        "PUT",
        `/api/environments/${envId}/members/seed-${round}-${i}`,
        { role: "member" },
      );
      assert.equal(seeded.status, 201);
    }

    let demotedAt = Infinity; // performance.now() when the demotion's answer arrived
    let acknowledged = 0;
    const afterDemotion: Array<{ what: string; status: number }> = [];
    let n = 0;
    const worker = async (w: number) => {
      let sentAfter = 0;
      while (sentAfter < 4) {
        const k = n++;
        const sentAt = performance.now();
        const path = `/api/environments/${envId}`;
        const [what, res] = await (async () => {
          switch (k % 4) {
            case 0:
              return [
                "rename",
                await call(b.url, mallory, "PATCH", path, { name: `m-${round}-${k}` }),
              ];
            case 1:
              return [
                "add",
                await call(b.url, mallory, "PUT", `${path}/members/victim-${round}-${k}`, {
                  role: "member",
                }),
              ];
            case 2:
              return [
                "remove",
                await call(
                  b.url,
                  mallory,
                  "DELETE",
                  `${path}/members/seed-${round}-${(k >> 2) % (WORKERS * 4)}`,
                ),
              ];
            default:
              return [
                "promote",
                await call(
                  b.url,
                  mallory,
                  "PUT",
                  `${path}/members/seed-${round}-${(k >> 2) % (WORKERS * 4)}`,
                  { role: "admin" },
                ),
              ];
          }
        })() as [string, { status: number }];
        if (sentAt > demotedAt) {
          sentAfter++;
          afterDemotion.push({ what: `${what} (worker ${w})`, status: res.status });
        } else if (res.status < 300) {
          acknowledged++;
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    // Demote while mallory's changes are in flight on the other process.
    await within(
      (async () => {
        while (acknowledged < 8) await new Promise((r) => setTimeout(r, 1));
      })(),
      30_000,
      "mallory's first changes",
    );
    const demote = await call(a.url, boss, "PUT", `/api/environments/${envId}/members/${MALLORY}`, {
      role: "member",
    });
    demotedAt = performance.now();
    assert.equal(demote.status, 200);
    const atDemotion = await state(a.dbPath, envId);

    await within(Promise.all(workers), 60_000, "mallory's workers");
    const final = await state(a.dbPath, envId);
    assert.deepEqual(final, atDemotion, `round ${round}: a change by the demoted admin committed`);
    const admitted = afterDemotion.filter((r) => r.status !== 403);
    assert.deepEqual(admitted, [], "every change sent after the demotion answers 403");
    assert.ok(final.members.includes(`${MALLORY}:member`));
    totals.before += acknowledged;
    totals.after += afterDemotion.length;
    totals.refusedAfter += afterDemotion.length - admitted.length;
  }
  console.log(
    `  ${ROUNDS} rounds: ${totals.before} changes acknowledged before the demotion, ` +
      `${totals.after} sent after it, ${totals.refusedAfter} refused with 403, none committed`,
  );
});
