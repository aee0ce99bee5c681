// Development only (the browser test): kept out of deno.json so the server's install skips it.
export * from "npm:playwright-core@1.65.1";
