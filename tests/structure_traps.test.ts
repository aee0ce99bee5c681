import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { testContext } from "./helpers/context.ts";

// A routine change that used to type-check and then fail at run time (issue 15): a new column on
// captures. (A metric added after captures were snapshotted: tests/snapshots.test.ts.)

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A copy of the project's source (no node_modules, no config) in a temp folder. */
async function scratchCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "capwatch-scratch-" });
  const listed = new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).outputSync();
  const files = new TextDecoder().decode(listed.stdout).split("\0")
    // Without deno.json the copy resolves bare imports through this project's import map.
    .filter((f) => f !== "" && f !== "deno.json" && f !== "deno.lock");
  for (const file of files) {
    await Deno.mkdir(join(dir, dirname(file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(dir, file)).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    });
  }
  return dir;
}

Deno.test("a new nullable column on captures: POST /api/captures still answers 201 and stores it as NULL", async () => {
  const dir = await scratchCopy();
  try {
    // The change a developer makes: one nullable column in the schema (and its migration).
    const schemaPath = join(dir, "db/schema.ts");
    const schema = await Deno.readTextFile(schemaPath);
    const grown = schema.replace(
      '  reason: text("reason"),\n',
      '  reason: text("reason"),\n  notes: text("notes"),\n',
    );
    assert.notEqual(grown, schema, "the schema's captures table moved; update this test");
    await Deno.writeTextFile(schemaPath, grown);

    const scratch = await import(join(dir, "tests/helpers/context.ts")) as {
      testContext: typeof testContext;
    };
    await using t = await scratch.testContext({ now: "2026-01-15T12:00:00Z" });
    await t.client.execute("ALTER TABLE captures ADD COLUMN notes text");
    const env = await t.createEnvironment("owner");

    for (const body of [{ duration: 3600 }, { scheduledStart: "2026-01-16T00:00:00Z" }]) {
      const res = await t.as("owner").post("/api/captures", {
        name: `grown-${crypto.randomUUID().slice(0, 8)}`,
        envId: env.id,
        ...body,
      });
      const text = await res.text();
      assert.equal(res.status, 201, text);
      const { id } = JSON.parse(text) as { id: number };
      const row = await t.client.execute({
        sql: "SELECT notes, snapshot_attempts FROM captures WHERE id = ?",
        args: [id],
      });
      assert.deepEqual({ ...row.rows[0] }, { notes: null, snapshot_attempts: 0 });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
