// Development only (the chart tests parse SVG as XML): kept out of deno.json so the server's
// install skips it.
export * from "npm:@xmldom/xmldom@^0.9.12";
