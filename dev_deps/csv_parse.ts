// Development only (the CSV tests read answers back with an independent RFC 4180 parser): kept
// out of deno.json so the server's install skips it.
export * from "npm:csv-parse@^7.0.3/sync";
