import { testContext } from "./tests/helpers/context.ts";
Deno.test("x", async () => {
  await using t = await testContext();
  const tok = await t.token("alice");
  for (
    const init of [{}, { body: "{}" }, {
      body: "{}",
      headers: { "content-type": "application/json; charset=utf-8" },
    }, { body: "{}", headers: { "content-type": "application/vnd.api+json" } }]
  ) {
    const res = await t.app.request("/api/environments", {
      method: "POST",
      ...init,
      headers: { Authorization: `Bearer ${tok}`, ...(init as any).headers },
    });
    console.log(JSON.stringify(init), res.status, await res.text());
  }
  const r = await t.as("alice").post("/api/environments", {
    name: "production",
    region: "us-east-1",
    dbInstanceIdentifier: "db",
    ownerId: "x",
  });
  console.log(await r.text());
});
