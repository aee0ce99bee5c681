// Development only (deno task openapi): kept out of deno.json so the server's install skips it.
export * from "npm:openapi-typescript@7.13.0";
export { default } from "npm:openapi-typescript@7.13.0";
