// Development only (property and fuzz tests): kept out of deno.json so the server's install skips it.
export * from "npm:fast-check@^4.11.0";
export { default } from "npm:fast-check@^4.11.0";
