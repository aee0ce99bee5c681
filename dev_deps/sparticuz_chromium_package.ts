// Development only: see sparticuz_chromium.ts, which imports this module when it needs the package.
export { default } from "npm:@sparticuz/chromium@153.0.0";
