// Development only (the browser test's Chromium where the machine has none): a headless Chromium
// build for Linux x86-64 inside an npm package, so it comes from the npm registry like the rest.

/** The package's version, which is also its Chromium's major version. */
export const SPARTICUZ_CHROMIUM_VERSION = "153.0.0";

/** Installs @sparticuz/chromium when missing; returns its bin/ folder (chromium.br and others). */
export async function sparticuzChromiumBin(): Promise<URL> {
  // Imported here, not at the top: a run that finds another Chromium never loads the package.
  await import("./sparticuz_chromium_package.ts");
  return new URL("../bin/", import.meta.resolve("npm:@sparticuz/chromium@153.0.0"));
}
