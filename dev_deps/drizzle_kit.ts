// Development only (deno task db:generate reads drizzle.config.ts): kept out of deno.json so the
// server's install skips it.
export { defineConfig } from "npm:drizzle-kit@^0.31.11";
