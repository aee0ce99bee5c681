// Runs the test suite and ends with the line CI reads: "tests: N passed, M failed".
const args = [
  "test",
  // --allow-run and --allow-ffi already grant everything; -A adds the /proc/sys reads Deno keeps
  // for it alone, which playwright-core makes when loaded (tests/browser_docs.test.ts).
  "--allow-all",
  ...(Deno.args.length > 0 ? Deno.args : ["tests/"]),
];
const child = new Deno.Command(Deno.execPath(), {
  args,
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const { code } = await child.status;

const summary = /(\d+) passed[^|]*\| (\d+) failed/.exec(tail);
const passed = summary ? Number(summary[1]) : 0;
const failed = summary ? Number(summary[2]) : code === 0 ? 0 : 1;
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(code === 0 && failed === 0 ? 0 : 1);
