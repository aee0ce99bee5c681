// Development only (contract tests): JSON Schema 2020-12 validation with formats; kept out of
// deno.json so the server's install skips it.
export { Ajv2020, type ValidateFunction } from "npm:ajv@^8.20.0/dist/2020.js";
export { default as addFormats } from "npm:ajv-formats@^3.0.1";
