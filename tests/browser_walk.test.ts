// A new user's walk through Swagger UI at /docs in a real Chromium, in README order: authorize,
// create an environment, create a capture, list, get, metrics, edit, stop, delete. Only what a
// user must type is typed (the token, the ids the earlier answers gave, the capture's body);
// everything else is sent as the page offers it. Then "Delete an environment" without an id must
// send nothing.
import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "../dev_deps/playwright_core.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { resolveChromium } from "./helpers/chromium.ts";
import { testContext } from "./helpers/context.ts";

const FAILURE_SCREENSHOT = new URL("../artifacts/docs-walk-failure.png", import.meta.url);

/** Opens an operation and presses "Try it out"; returns its selector. */
async function open(page: Page, tag: string, operationId: string) {
  const op = `#operations-${tag}-${operationId}`;
  await page.click(`${op} .opblock-summary`);
  await page.click(`${op} button.try-out__btn`);
  return op;
}

/** Presses Execute and waits for the live answer; returns its status and body text. */
async function execute(page: Page, op: string) {
  await page.click(`${op} button.execute`);
  const row = page.locator(`${op} .live-responses-table tbody tr.response`).first();
  await row.waitFor();
  const status = Number((await row.locator(".response-col_status").textContent())?.trim());
  const body = await row.locator(".response-col_description pre").first().textContent()
    .catch(() => "");
  return { status, body: body ?? "" };
}

/** Types `value` into the parameter input named `name`. */
const typeParam = (page: Page, op: string, name: string, value: string) =>
  page.fill(`${op} tr[data-param-name="${name}"] input`, value);

Deno.test({
  name: "Swagger UI walk: a user types only what they must, and an id-less delete sends nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const browser = await resolveChromium();
    await using fake = await startFakeCloudWatch();
    await using t = await testContext({
      now: new Date().toISOString(),
      env: fakeCloudWatchEnv(fake),
    });
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      t.app.fetch,
    );
    const origin = `http://127.0.0.1:${server.addr.port}`;
    // Someone else's environment 1 with a capture: nothing the walk does may touch it.
    const bystander = await t.createEnvironment("bob");
    const bobsCapture = await (await t.as("bob").post("/api/captures", {
      name: "bobs",
      envId: bystander.id,
    })).json();
    const token = await t.token("alice");

    const userDataDir = await Deno.makeTempDir({ prefix: "capwatch-chromium-" });
    let context: BrowserContext | undefined;
    let openPage: Page | undefined;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: browser.path,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        viewport: { width: 1280, height: 900 },
      });
      const page = openPage = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(20_000);
      const sent: string[] = [];
      page.on("request", (request) => {
        const url = new URL(request.url());
        if (url.pathname.startsWith("/api/")) {
          sent.push(`${request.method()} ${url.pathname}${url.search}`);
        }
      });
      await page.goto(`${origin}/docs`);
      await page.locator("#operations-Captures-createCapture").waitFor();

      // Authorize: the token is the one thing every user must paste.
      await page.click("button.authorize");
      await page.fill(".modal-ux input", token);
      await page.click(".modal-ux .auth-btn-wrapper button.authorize");
      await page.click(".modal-ux .auth-btn-wrapper button.btn-done");
      await page.locator(".modal-ux").waitFor({ state: "detached" });

      // Create an environment: the example body as offered.
      let op = await open(page, "Environments", "createEnvironment");
      const env = await execute(page, op);
      assert.equal(env.status, 201, env.body);
      const envId = JSON.parse(env.body).id as number;

      // Create a capture in it: the user picks the environment, so the body names it.
      op = await open(page, "Captures", "createCapture");
      await page.fill(
        `${op} textarea.body-param__text`,
        JSON.stringify({ name: "walk", envId, duration: 3600 }),
      );
      const created = await execute(page, op);
      assert.equal(created.status, 201, created.body);
      const id = String(JSON.parse(created.body).id);

      // List with nothing typed: every environment alice is in, no filter prefilled.
      op = await open(page, "Captures", "listCaptures");
      const listed = await execute(page, op);
      assert.equal(listed.status, 200, listed.body);
      assert.deepEqual(JSON.parse(listed.body).map((c: { name: string }) => c.name), ["walk"]);

      op = await open(page, "Captures", "getCapture");
      await typeParam(page, op, "id", id);
      const got = await execute(page, op);
      assert.equal(got.status, 200, got.body);

      // Metrics with only the id: the server picks type, stat and period.
      op = await open(page, "Captures", "getCaptureMetrics");
      await typeParam(page, op, "id", id);
      const metrics = await execute(page, op);
      assert.equal(metrics.status, 200, metrics.body);
      assert.equal(JSON.parse(metrics.body).stat, "Average");

      // Edit with the example body as offered.
      op = await open(page, "Captures", "updateCapture");
      await typeParam(page, op, "id", id);
      const edited = await execute(page, op);
      assert.equal(edited.status, 200, edited.body);

      op = await open(page, "Captures", "stopCapture");
      await typeParam(page, op, "id", id);
      const stopped = await execute(page, op);
      assert.equal(stopped.status, 200, stopped.body);
      assert.equal(JSON.parse(stopped.body).status, "DONE");

      op = await open(page, "Captures", "deleteCapture");
      await typeParam(page, op, "id", id);
      assert.equal((await execute(page, op)).status, 204);

      // "Delete an environment" with nothing typed: Swagger UI refuses; no request leaves.
      op = await open(page, "Environments", "deleteEnvironment");
      const before = sent.length;
      await page.click(`${op} button.execute`);
      await page.locator(`${op} tr[data-param-name="id"] input.invalid`).waitFor();
      await page.waitForLoadState("networkidle");
      assert.deepEqual(sent.slice(before), [], "an id-less delete sent a request");
      assert.equal(await page.locator(`${op} .live-responses-table`).count(), 0);
      // Once the user types the id, it goes.
      await typeParam(page, op, "id", String(envId));
      assert.equal((await execute(page, op)).status, 204);

      assert.deepEqual(sent, [
        "POST /api/environments",
        "POST /api/captures",
        "GET /api/captures",
        `GET /api/captures/${id}`,
        `GET /api/captures/${id}/metrics`,
        `PUT /api/captures/${id}`,
        `POST /api/captures/${id}/stop`,
        `DELETE /api/captures/${id}`,
        `DELETE /api/environments/${envId}`,
      ]);
      // Bob's environment and capture are as they were.
      assert.equal((await t.as("bob").get(`/api/captures/${bobsCapture.id}`)).status, 200);
      assert.equal((await t.as("bob").get(`/api/environments/${bystander.id}`)).status, 200);
    } catch (error) {
      await openPage?.screenshot({ path: FAILURE_SCREENSHOT.pathname, fullPage: true }).catch(
        () => {},
      );
      throw error;
    } finally {
      await context?.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
