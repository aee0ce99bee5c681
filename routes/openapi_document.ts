import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/router.ts";
import { problemExamples } from "../openapi/helpers.ts";

/** The document's fixed parts: title, servers, tags. */
const documentConfig = {
  openapi: "3.1.0",
  info: {
    title: "capwatch",
    version: "1.0.0",
    description:
      "Control plane for database workload captures: register Amazon RDS MySQL environments, create, schedule, edit, stop and delete captures, and read each capture's CloudWatch metrics.",
    contact: { name: "capwatch maintainers" },
    license: { name: "MIT", url: "https://opensource.org/license/mit" },
  },
  // "/" keeps /docs working wherever it is served; the second entry is for generated clients,
  // which need an absolute base URL (README "Generating a client").
  servers: [
    { url: "/", description: "The server that serves this document (what /docs calls)" },
    {
      url: "{scheme}://{host}",
      description: "A capwatch deployment: set it as the generated client's baseUrl",
      variables: {
        scheme: { enum: ["https", "http"], default: "http" },
        host: { default: "localhost:8000", description: "Host and port of your deployment" },
      },
    },
  ],
  tags: [
    { name: "Captures", description: "Named time windows of a database's workload" },
    { name: "Environments", description: "Registered RDS MySQL instances" },
    { name: "Members", description: "Who may see and manage an environment" },
    { name: "Operations", description: "Health and the contract itself" },
  ],
};

/** Registers the bearer scheme and returns a getter that builds the document once. */
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT whose `sub` is your user id (dev mode prints one at start)",
  });
  for (const { name, example } of problemExamples()) {
    app.openAPIRegistry.registerComponent("examples", name, example);
  }
  let cached: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.openAPIRegistry.registerComponent("headers", "X-Request-Id", REQUEST_ID_HEADER);
  return () => (cached ??= finish(app.getOpenAPI31Document(documentConfig)));
}

const REQUEST_ID_HEADER = {
  description:
    "The request's id: the X-Request-Id you sent when it is 1–128 of A-Z a-z 0-9 . _ : -, else a new UUID. It is in every log line of the request; quote it when reporting a problem.",
  schema: { type: "string" as const, example: "5f0c6e1e-3c1a-4a4b-9a51-3f1f0f5d2b7e" },
};

type Responses = Record<string, { headers?: Record<string, unknown> }>;
type Document = {
  paths?: Record<string, Record<string, { responses?: Responses }> | undefined>;
  components?: { examples?: Record<string, unknown> };
};

/** The generated document with X-Request-Id on every response and no unused example. */
function finish<D extends object>(generated: D): D {
  const document = generated as Document;
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      for (const response of Object.values(operation.responses ?? {})) {
        response.headers = {
          ...response.headers,
          "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" },
        };
      }
    }
  }
  withoutUnusedExamples(document);
  return generated;
}

/** Drops the problem examples no response refers to (a kind no declared status carries). */
function withoutUnusedExamples(document: Document): void {
  const examples = document.components?.examples;
  if (!examples) return;
  const text = JSON.stringify({
    ...document,
    components: { ...document.components, examples: {} },
  });
  for (const name of Object.keys(examples)) {
    if (!text.includes(`"#/components/examples/${name}"`)) delete examples[name];
  }
}
