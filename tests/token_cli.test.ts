// `deno task token` as users run it: --help, and a bad command line answered with the usage and
// exit code 2, never a stack trace.
import assert from "node:assert/strict";
import { TEST_SECRET } from "./helpers/context.ts";
import { ROOT, taskArgs } from "./helpers/process.ts";

/** Runs the token task's command with `args`; returns its exit code, stdout and stderr. */
async function token(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("token"), ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { JWT_SECRET: TEST_SECRET, NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

/** A Deno stack trace or uncaught-error banner. */
const STACK = /Uncaught|^\s+at /m;

Deno.test("deno task token --help prints the usage with a command a Node-only machine can run", async () => {
  for (const flag of ["--help", "-h"]) {
    const { code, stdout, stderr } = await token(flag);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^usage: npx -y deno@2 task token --sub USER_ID \[--ttl 1h\]/);
    assert.match(stdout, /--ttl DURATION/);
    // Deno itself may report a first download on stderr; capwatch writes nothing there.
    assert.doesNotMatch(stderr, /capwatch:|usage:/);
    assert.doesNotMatch(stderr, STACK);
  }
});

Deno.test("deno task token answers a bad command line with the usage and exit code 2", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["--sub", "alice", "--ttl", "2x"], /--ttl "2x" must look like 90s, 15m, 12h or 7d/],
    [["--sub", "alice", "--ttl", "0"], /--ttl "0" must look like/],
    [["--sub", "alice", "--ttl", "-5m"], /--ttl/],
    [["--sub", "alice", "--ttl", "9".repeat(30) + "d"], /--ttl "9+d" must look like/],
    [["--sub", "alice", "--ttl"], /--ttl/],
    [["--tll", "2h", "--sub", "alice"], /Unknown option '--tll'/],
    [["--sub"], /--sub/],
    [[], /--sub is required/],
    [["--sub", "alice", "extra"], /extra/],
    [["--sub", "a", "--sub", "b"], /--sub given 2 times; give it once/],
    [["--sub=a", "--ttl", "1h", "--ttl=2h"], /--ttl given 2 times/],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await token(...args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, message, args.join(" "));
    assert.match(stderr, /usage: npx -y deno@2 task token/, args.join(" "));
    assert.doesNotMatch(stderr, STACK, args.join(" "));
    assert.equal(stdout, "", args.join(" "));
  }
});

Deno.test("deno task token --ttl sets the token's lifetime", async () => {
  const { code, stdout, stderr } = await token("--sub", "alice", "--ttl", "2h");
  assert.equal(code, 0, stderr);
  const payload = JSON.parse(
    atob(stdout.trim().split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
  );
  assert.equal(payload.sub, "alice");
  assert.equal(payload.exp - payload.iat, 7200);
});
