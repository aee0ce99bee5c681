// Prints a bearer token for the configured JWT_SECRET, or the dev-mode secret under data/.
import { parseArgs } from "node:util";
import { hasDevSecret, loadDevSecret } from "../auth/dev_secret.ts";
import { mintToken, parseTtl } from "../auth/mint.ts";
import { USER_ID_RULE, userIdProblem } from "../inputs.ts";

const USAGE = `usage: npx -y deno@2 task token --sub USER_ID [--ttl 1h]

Prints an HS256 bearer token for USER_ID, signed with JWT_SECRET (or the dev-mode secret in
data/dev-secret that \`task start\` makes), with JWT_ISSUER / JWT_AUDIENCE when set.

  --sub USER_ID   the token's subject (${USER_ID_RULE})
  --ttl DURATION  how long it is valid: 90s, 15m, 12h or 7d (default 1h)
  -h, --help      print this and exit`;

/** Prints `message` and the usage on stderr and exits 2, the code for a bad command line. */
function usageError(message: string): never {
  console.error(`capwatch: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

let values: { sub?: string; ttl?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      sub: { type: "string" },
      ttl: { type: "string", default: "1h" },
      help: { type: "boolean", short: "h" },
    },
  }));
  // parseArgs keeps the last of a repeated flag; two subjects are a mistake, not a choice.
  for (const flag of ["--sub", "--ttl"]) {
    const given = Deno.args.filter((arg) => arg === flag || arg.startsWith(`${flag}=`)).length;
    if (given > 1) throw new Error(`${flag} given ${given} times; give it once`);
  }
} catch (error) {
  // node:util names the flag: "Unknown option '--tll'", "Option '--sub <value>' argument missing".
  usageError(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!values.sub) usageError("--sub is required");
const subProblem = userIdProblem(values.sub);
if (subProblem) usageError(`--sub ${subProblem} (${USER_ID_RULE})`);
let ttlSeconds = NaN;
try {
  ttlSeconds = parseTtl(values.ttl!);
} catch {
  // Reported below with the flag's name.
}
// A year at most: longer is no session but a credential, and huge numbers overflow the exp claim.
if (!(ttlSeconds > 0 && ttlSeconds <= 366 * 86400)) {
  usageError(`--ttl ${JSON.stringify(values.ttl)} must look like 90s, 15m, 12h or 7d (up to 366d)`);
}

let secret = Deno.env.get("JWT_SECRET");
if (!secret) {
  if (!await hasDevSecret()) {
    console.error(
      "capwatch: set JWT_SECRET, or run npx -y deno@2 task start once to make a dev secret",
    );
    Deno.exit(1);
  }
  secret = await loadDevSecret();
}
console.log(
  await mintToken(secret, {
    sub: values.sub,
    ttlSeconds,
    issuer: Deno.env.get("JWT_ISSUER") || undefined,
    audience: Deno.env.get("JWT_AUDIENCE") || undefined,
  }),
);
