// Development only (the typed-client test): kept out of deno.json so the server's install skips it.
export * from "npm:openapi-fetch@0.17.0";
export { default } from "npm:openapi-fetch@0.17.0";
