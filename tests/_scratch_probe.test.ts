import { testContext } from "./helpers/context.ts";
Deno.test("probe", async () => {
  await using t = await testContext({ now: "2026-01-01T00:00:00Z" });
  const env = await t.createEnvironment("owner");
  const show = async (label: string, res: Response) =>
    console.log(
      label,
      res.status,
      [...res.headers].filter(([k]) => k !== "x-request-id"),
      await res.text(),
    );
  await show(
    "unknown",
    await t.as("owner").post("/api/captures", { name: "a", envId: env.id, bogus: 1 }),
  );
  await show(
    "unknown+sched",
    await t.as("owner").post("/api/captures", {
      name: "a",
      envId: env.id,
      bogus: 1,
      status: "SCHEDULED",
    }),
  );
  const tok = await t.token("owner");
  await show(
    "malformed",
    await t.app.request("/api/captures", {
      method: "POST",
      headers: { Authorization: `Bearer ${tok}`, "Content-Type": "application/json" },
      body: "{nope",
    }),
  );
  await show(
    "notype",
    await t.app.request("/api/captures", {
      method: "POST",
      headers: { Authorization: `Bearer ${tok}` },
      body: "{}",
    }),
  );
  await show("slash", await t.as("owner").get(`/api/captures/?envId=${env.id}&name=x`));
  await show(
    "create",
    await t.as("owner").post("/api/captures", { name: "a", envId: env.id, status: "STARTED" }),
  );
  await show("dup", await t.as("owner").post("/api/captures", { name: "a", envId: env.id }));
  await show("empty put", await t.as("owner").put("/api/captures/1", {}));
  await show(
    "list status",
    await t.as("owner").get("/api/captures?status=RUNNING&status=SCHEDULED&limit=1"),
  );
  await show("ctl", await t.as("owner").post("/api/captures", { name: "a\u0001b", envId: env.id }));
  await show(
    "both",
    await t.as("owner").post("/api/captures", {
      name: "q",
      envId: env.id,
      start: "2025-12-31T00:00:00Z",
      scheduledStart: "2026-01-02T00:00:00Z",
    }),
  );
  await show(
    "stop w/ ct",
    await t.app.request("/api/captures/1/stop", {
      method: "POST",
      headers: { Authorization: `Bearer ${tok}`, "Content-Type": "application/json" },
    }),
  );
});
