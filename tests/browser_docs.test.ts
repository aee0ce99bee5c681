// Swagger UI at /docs in a real Chromium: authorize with a bearer token, try two operations, and
// check the page never leaves the server (its assets are served locally, no CDN).
import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "../dev_deps/playwright_core.ts";
import { resolveChromium } from "./helpers/chromium.ts";
import { testContext } from "./helpers/context.ts";

const SCREENSHOT = new URL("../artifacts/docs.png", import.meta.url);
const FAILURE_SCREENSHOT = new URL("../artifacts/docs-failure.png", import.meta.url);

/** Expands an operation, presses "Try it out", lets `fill` set inputs, executes; returns the status. */
async function tryOperation(page: Page, operationId: string, fill: (op: string) => Promise<void>) {
  const op = `#operations-Captures-${operationId}`;
  await page.click(`${op} .opblock-summary`);
  await page.click(`${op} button.try-out__btn`);
  await fill(op);
  await page.click(`${op} button.execute`);
  const status = page.locator(`${op} .live-responses-table tbody .response-col_status`).first();
  await status.waitFor();
  return Number((await status.textContent())?.trim());
}

Deno.test({
  name:
    "GET /docs lets a browser authorize, post a capture and list captures, all from this server",
  // Chromium's pipes and playwright's timers outlive single ops; everything is closed below.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const browser = await resolveChromium();
    await using t = await testContext();
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      t.app.fetch,
    );
    const origin = `http://127.0.0.1:${server.addr.port}`;
    const env = await t.createEnvironment("alice");
    const token = await t.token("alice");

    const userDataDir = await Deno.makeTempDir({ prefix: "capwatch-chromium-" });
    let context: BrowserContext | undefined;
    let openPage: Page | undefined;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: browser.path,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
        viewport: { width: 1280, height: 900 },
      });
      const page = openPage = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(20_000);
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      // Chromium reports each Content-Security-Policy refusal on the console.
      const refused: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
      });

      const docs = await page.goto(`${origin}/docs`);
      const csp = docs?.headers()["content-security-policy"] ?? "";
      assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(docs?.headers()["x-content-type-options"], "nosniff");
      assert.equal(docs?.headers()["referrer-policy"], "no-referrer");
      await page.locator("#operations-Captures-createCapture").waitFor();

      // Authorize: paste the token into the bearerAuth field, then close the dialog.
      await page.click("button.authorize");
      await page.fill(".modal-ux input", token);
      await page.click(".modal-ux .auth-btn-wrapper button.authorize");
      await page.click(".modal-ux .auth-btn-wrapper button.btn-done");
      await page.locator(".modal-ux").waitFor({ state: "detached" });
      // The token lives in the tab only: nothing in localStorage (persistAuthorization is off).
      const stored = await page.evaluate(() => JSON.stringify(localStorage));
      assert.equal(stored, "{}");

      // Post a new capture with a body naming the environment made above.
      const created = await tryOperation(page, "createCapture", async (op) => {
        await page.fill(
          `${op} textarea.body-param__text`,
          JSON.stringify({ name: "from-the-browser", envId: env.id, duration: 3600 }, null, 2),
        );
      });
      assert.equal(created, 201);

      // Get all captures, filtered to that environment.
      const listed = await tryOperation(page, "listCaptures", async (op) => {
        await page.fill(`${op} tr[data-param-name="envId"] input`, String(env.id));
      });
      assert.equal(listed, 200);
      const listBody = await page
        .locator(
          "#operations-Captures-listCaptures .live-responses-table tbody .response-col_description pre",
        )
        .first().textContent();
      assert.match(listBody ?? "", /from-the-browser/);

      await Deno.mkdir(new URL(".", SCREENSHOT), { recursive: true });
      // The created capture's live response, where a reader of the artifact looks first.
      await page.locator("#operations-Captures-createCapture .live-responses-table")
        .scrollIntoViewIfNeeded();
      await page.screenshot({ path: SCREENSHOT.pathname });

      // The capture exists for the API too, so the browser's request carried the token.
      const res = await t.as("alice").get(`/api/captures?envId=${env.id}`);
      assert.deepEqual((await res.json()).map((c: { name: string }) => c.name), [
        "from-the-browser",
      ]);

      assert.deepEqual(pageErrors, []);
      assert.deepEqual(refused, [], "the page broke its own Content-Security-Policy");
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.ok(requested.length > 0);
      const elsewhere = requested.filter((url) => {
        const { protocol, host } = new URL(url);
        return protocol !== "data:" && host !== `127.0.0.1:${server.addr.port}`;
      });
      assert.deepEqual(elsewhere, [], "the docs page requested something from another host");
      for (const path of ["/docs", "/openapi.json", "/api/captures"]) {
        assert.ok(
          requested.some((url) => new URL(url).pathname === path),
          `no request for ${path}`,
        );
      }
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
