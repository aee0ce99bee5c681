import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/router.ts";
import { problemExamples } from "./helpers.ts";

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
  servers: [{ url: "/", description: "This server" }],
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
  return () => (cached ??= withoutUnusedExamples(app.getOpenAPI31Document(documentConfig)));
}

/** Drops the problem examples no response refers to (a kind no declared status carries). */
function withoutUnusedExamples<D extends { components?: { examples?: Record<string, unknown> } }>(
  document: D,
): D {
  const examples = document.components?.examples;
  if (!examples) return document;
  const text = JSON.stringify({
    ...document,
    components: { ...document.components, examples: {} },
  });
  for (const name of Object.keys(examples)) {
    if (!text.includes(`"#/components/examples/${name}"`)) delete examples[name];
  }
  return document;
}
