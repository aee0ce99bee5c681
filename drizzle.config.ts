import { defineConfig } from "./dev_deps/drizzle_kit.ts";

export default defineConfig({
  dialect: "turso",
  schema: "./db/schema.ts",
  out: "./db/migrations",
  dbCredentials: { url: "file:data/capwatch.db" },
});
