// hex() and sha256() against FIPS 180-4's own example (SHA-256 of "abc").
import assert from "node:assert/strict";
import { hex, sha256 } from "../hex.ts";

Deno.test("hex() writes two lowercase digits per byte; sha256() matches FIPS 180-4's 'abc'", async () => {
  assert.equal(hex(new Uint8Array([0x00, 0x0f, 0xa0, 0xff])), "000fa0ff");
  assert.equal(hex(new Uint8Array()), "");
  const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(hex(await sha256("abc")), abc);
  assert.equal(hex(await sha256(new TextEncoder().encode("abc"))), abc);
});
