// Prints a bearer token for the configured JWT_SECRET, or the dev-mode secret under data/.
import { parseArgs } from "node:util";
import { hasDevSecret, loadDevSecret } from "../auth/dev_secret.ts";
import { mintToken, parseTtl } from "../auth/mint.ts";
import { USER_ID_RULE, userIdProblem } from "../inputs.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { sub: { type: "string" }, ttl: { type: "string", default: "1h" } },
});
if (!values.sub) {
  console.error("usage: deno task token --sub USER_ID [--ttl 1h]");
  Deno.exit(2);
}
const subProblem = userIdProblem(values.sub);
if (subProblem) {
  console.error(`capwatch: --sub ${subProblem} (${USER_ID_RULE})`);
  Deno.exit(2);
}
let secret = Deno.env.get("JWT_SECRET");
if (!secret) {
  if (!await hasDevSecret()) {
    console.error("capwatch: set JWT_SECRET, or run deno task start once to make a dev secret");
    Deno.exit(1);
  }
  secret = await loadDevSecret();
}
console.log(
  await mintToken(secret, {
    sub: values.sub,
    ttlSeconds: parseTtl(values.ttl!),
    issuer: Deno.env.get("JWT_ISSUER") || undefined,
    audience: Deno.env.get("JWT_AUDIENCE") || undefined,
  }),
);
