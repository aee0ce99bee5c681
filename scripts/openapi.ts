// Writes openapi/openapi.json (the document the app serves) and tests/client/schema.d.ts (its
// openapi-typescript types); with --check, exits 1 when either committed file is out of date.
import openapiTS, { astToString } from "../dev_deps/openapi_typescript.ts";
import { createApp } from "../app.ts";
import { loadConfig } from "../config.ts";
import type { Database } from "../db/client.ts";
import { systemClock } from "../lifecycle/clock.ts";
import { createLogger } from "../logger.ts";

const DOCUMENT_PATH = new URL("../openapi/openapi.json", import.meta.url);
const CLIENT_TYPES_PATH = new URL("../tests/client/schema.d.ts", import.meta.url);
const CLIENT_TYPES_HEADER = [
  "// Generated from openapi/openapi.json by openapi-typescript (deno task openapi); do not edit.",
  "// deno-fmt-ignore-file",
  "// deno-lint-ignore-file",
  "",
].join("\n");

/** Dependencies that let the app build its routes; none of them is called to render the document. */
function contractOnlyDeps() {
  const unused = (what: string) => () => Promise.reject(new Error(`${what} is not available here`));
  const db = new Proxy({}, {
    get: () => {
      throw new Error("The OpenAPI document needs no database");
    },
  }) as Database;
  return {
    db,
    config: loadConfig({}),
    clock: systemClock,
    verifyToken: unused("token verification"),
    logger: createLogger("error", () => {}),
    cloudwatch: { getMetricData: unused("CloudWatch") },
    pingDatabase: unused("the database"),
  };
}

/** The document exactly as GET /openapi.json serves it: 2-space JSON and a final newline. */
export async function renderDocument(): Promise<string> {
  const res = await createApp(contractOnlyDeps()).request("/openapi.json");
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  return JSON.stringify(await res.json(), null, 2) + "\n";
}

/** openapi-typescript's types for a document, as `openapi-typescript --default-non-nullable false` writes them. */
export async function renderClientTypes(document: string): Promise<string> {
  const ast = await openapiTS(document, { defaultNonNullable: false });
  return CLIENT_TYPES_HEADER + astToString(ast);
}

async function readText(url: URL): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const document = await renderDocument();
  const types = await renderClientTypes(document);
  const files = [
    { url: DOCUMENT_PATH, text: document },
    { url: CLIENT_TYPES_PATH, text: types },
  ];
  const stale = [];
  for (const file of files) {
    if (await readText(file.url) !== file.text) stale.push(file);
  }
  const name = (url: URL) => url.pathname.slice(new URL("../", import.meta.url).pathname.length);
  if (check) {
    for (const file of stale) {
      console.error(`${name(file.url)} is out of date: run npx -y deno@2 task openapi`);
    }
    Deno.exit(stale.length > 0 ? 1 : 0);
  }
  for (const file of stale) {
    await Deno.mkdir(new URL(".", file.url), { recursive: true });
    await Deno.writeTextFile(file.url, file.text);
    console.log(`wrote ${name(file.url)}`);
  }
  if (stale.length === 0) {
    console.log("openapi/openapi.json and tests/client/schema.d.ts are up to date");
  }
}
