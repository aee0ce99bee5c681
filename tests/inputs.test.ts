/**
 * One strict parser per kind of input (inputs.ts), checked as units and through every door that
 * uses it: integers in paths and queries, JSON media types, display names, user ids.
 */
import assert from "node:assert/strict";
import { mintToken } from "../auth/mint.ts";
import {
  jsonContentTypeProblem,
  nameProblem,
  normalizeName,
  parseCanonicalInteger,
  parseMediaType,
  userIdProblem,
} from "../inputs.ts";
import { TEST_SECRET, type TestContext, testContext } from "./helpers/context.ts";
import { NOW, postCapture } from "./helpers/captures.ts";
import { assertProblem } from "./helpers/problem.ts";
import { ROOT } from "./helpers/process.ts";

const NON_CANONICAL = [
  "0x7",
  "%207",
  "7%20",
  "07",
  "+7",
  "-7",
  "-0",
  "7.0",
  "1e3",
  "0b1",
  "0o7",
  "Infinity",
  "9007199254740992",
  "9007199254740993",
  "%EF%BC%97", // FULLWIDTH DIGIT SEVEN
  "%D9%A7", // ARABIC-INDIC DIGIT SEVEN
];

Deno.test("parseCanonicalInteger() takes plain digits within safe integers and nothing else", () => {
  assert.equal(parseCanonicalInteger("0"), 0);
  assert.equal(parseCanonicalInteger("7"), 7);
  assert.equal(parseCanonicalInteger("9007199254740991"), Number.MAX_SAFE_INTEGER);
  for (
    const text of ["", " 7", "7 ", "07", "00", "+7", "-0", "0x7", "7.0", "1e3", "9007199254740992"]
  ) {
    assert.equal(parseCanonicalInteger(text), undefined, JSON.stringify(text));
  }
});

async function integerRefused(res: Response, field: string) {
  const body = await assertProblem(res, 400);
  const entry = body.errors?.find((e) => e.path === field);
  assert.ok(entry, `no error names ${field}: ${JSON.stringify(body)}`);
  assert.match(entry.message, /plain digits, such as 42/);
}

Deno.test("GET /api/captures/{id} refuses every non-canonical spelling of an existing id", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { capture } = await postCapture(t, "owner", { name: "seven", envId: env.id });
  // Spellings of this very id: each would have found it through a loose coercion.
  const id = capture.id;
  const spellings = [`0x${id.toString(16)}`, `%20${id}`, `0${id}`, `+${id}`, `${id}.0`, `${id}e0`];
  for (const spelling of [...spellings, ...NON_CANONICAL]) {
    await integerRefused(await t.as("owner").get(`/api/captures/${spelling}`), "id");
  }
  assert.equal((await t.as("owner").get(`/api/captures/${id}`)).status, 200);
  // The same rule in every integer path: environments, members, metrics.
  await integerRefused(await t.as("owner").get(`/api/environments/0x${env.id}`), "id");
  await integerRefused(await t.as("owner").get(`/api/environments/0${env.id}/members`), "id");
  await integerRefused(await t.as("owner").delete(`/api/environments/+${env.id}/members/x`), "id");
  await integerRefused(await t.as("owner").get(`/api/captures/${id}.0/metrics`), "id");
});

Deno.test("GET /api/captures refuses non-canonical envId and limit, and treats empty as absent", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await postCapture(t, "owner", { name: "one", envId: env.id });
  for (const bad of ["0x1", "%201", "01", "1e0", "1.0", "+1", "9007199254740993"]) {
    await integerRefused(await t.as("owner").get(`/api/captures?envId=${bad}`), "envId");
    await integerRefused(await t.as("owner").get(`/api/captures?limit=${bad}`), "limit");
  }
  await integerRefused(await t.as("owner").get(`/api/captures/1/metrics?period=060`), "period");
  // ?limit= is no limit (the default 50), ?envId= is every environment; so for every parameter.
  const empty = ["limit=", "envId=", "limit=&envId=", `limit=&envId=${env.id}`, "cursor=", "name="];
  for (const query of [...empty, "status=", "status=&status="]) {
    const res = await t.as("owner").get(`/api/captures?${query}`);
    assert.equal(res.status, 200, `${query}: ${await res.clone().text()}`);
    assert.equal((await res.json()).length, 1);
  }
  const zero = await assertProblem(await t.as("owner").get("/api/captures?limit=0"), 400);
  assert.equal(zero.errors?.[0].path, "limit");
});

Deno.test("parseMediaType() follows RFC 9110 §8.3.1: case, whitespace, quoted values", () => {
  assert.deepEqual(parseMediaType('Application/JSON ; Charset="UTF-8"'), {
    type: "application",
    subtype: "json",
    parameters: new Map([["charset", "UTF-8"]]),
  });
  assert.deepEqual(
    parseMediaType('text/plain;a="x\\"y;z";;b=c')?.parameters,
    new Map([["a", 'x"y;z'], ["b", "c"]]),
  );
  for (
    const bad of [
      "",
      "application",
      "application/",
      "/json",
      "application/json;charset=",
      'a/b;c="x',
      "a/b c",
      "a/b;=x",
      "a /b",
    ]
  ) {
    assert.equal(parseMediaType(bad), undefined, bad);
  }
});

Deno.test("jsonContentTypeProblem() admits application/json with no charset or utf-8 only", () => {
  for (
    const ok of [
      "application/json",
      "APPLICATION/JSON",
      "application/json;charset=utf-8",
      "application/json ; charset=utf-8",
      'Application/JSON;charset="UTF-8"',
      "application/json;\tcharset=UTF-8;",
      "application/json; foo=bar",
    ]
  ) assert.equal(jsonContentTypeProblem(ok), undefined, ok);
  for (
    const bad of [
      "application/jsonx",
      "application/json-patch+json",
      "application/vnd.api+json",
      "text/json",
      "text/plain",
      "application/json; charset=utf-16",
      "application/json; charset=iso-8859-1",
      "application/json; charset=utf-8; charset=utf-16",
      "application/json; charset=",
      "application/json charset=utf-8",
      "application/json,text/plain",
    ]
  ) assert.ok(jsonContentTypeProblem(bad), bad);
});

async function postRaw(t: TestContext, path: string, contentType: string | null, body: unknown) {
  const headers: Record<string, string> = { Authorization: `Bearer ${await t.token("owner")}` };
  if (contentType !== null) headers["Content-Type"] = contentType;
  return t.app.request(path, { method: "POST", headers, body: JSON.stringify(body) });
}

Deno.test("POST /api/captures takes the valid spellings of application/json and 415s the rest", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  let n = 0;
  for (const ok of ["application/json ; charset=utf-8", 'Application/JSON;charset="UTF-8"']) {
    const res = await postRaw(t, "/api/captures", ok, { name: `c${++n}`, envId: env.id });
    assert.equal(res.status, 201, `${ok}: ${await res.text()}`);
  }
  for (
    const bad of [
      "application/json; charset=utf-16",
      "application/jsonx",
      "application/json-patch+json",
      "application/json; charset=",
      null,
    ]
  ) {
    const res = await postRaw(t, "/api/captures", bad, { name: `c${++n}`, envId: env.id });
    const body = await assertProblem(res, 415);
    assert.deepEqual(body.errors?.map((e) => e.path), ["Content-Type"], String(bad));
    assert.match(body.detail, /^Content-Type /);
  }
  // The same gate on the other bodies: environments and members.
  const envBody = { name: "e", region: "us-east-1", dbInstanceIdentifier: "db-1" };
  await assertProblem(await postRaw(t, "/api/environments", "application/jsonx", envBody), 415);
  const put = await t.app.request(`/api/environments/${env.id}/members/u2`, {
    method: "PUT",
    headers: {
      Authorization: `Bearer ${await t.token("owner")}`,
      "Content-Type": "application/json; charset=utf-16",
    },
    body: JSON.stringify({ role: "member" }),
  });
  await assertProblem(put, 415);
  // An anonymous caller still learns about the token first.
  const anonymous = await t.app.request("/api/captures", {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: "x",
  });
  await assertProblem(anonymous, 401);
});

Deno.test("normalizeName() and nameProblem() refuse what cannot be seen or tells text apart", () => {
  assert.equal(normalizeName("  cafe\u0301 "), "caf\u00e9");
  for (const ok of ["production", "café", "日本", "a b", "x\u0301", "🙂", "-", "Ω"]) {
    assert.equal(nameProblem(normalizeName(ok)), undefined, ok);
  }
  const refused: [string, RegExp][] = [
    ["x\u200b", /invisible.*U\+200B/],
    ["\u00adx", /invisible.*U\+00AD/],
    ["x\ufeffy", /invisible.*U\+FEFF/],
    [normalizeName("\ufeffx"), /invisible.*U\+FEFF/],
    ["x\u2060", /invisible.*U\+2060/],
    ["\u3164", /invisible.*U\+3164/],
    ["\u2800", /visible character/],
    ["\u2800\u2800 \u2800", /visible character/],
    ["\u0301", /visible character/],
    ["a\u200eb", /bidirectional.*U\+200E/],
    ["a\u200fb", /bidirectional.*U\+200F/],
    ["abc\u202egpj.exe", /bidirectional.*U\+202E/],
    ["a\u2066b", /bidirectional.*U\+2066/],
    ["a\u061cb", /bidirectional.*U\+061C/],
    ["a\u0007b", /control.*U\+0007/],
    ["a\u0085b", /control.*U\+0085/],
    ["a\u2028b", /control.*U\+2028/],
    ["a\u2029b", /control.*U\+2029/],
    ["a\ud800b", /lone surrogate/],
    ["a\uffffb", /non-character/],
  ];
  for (const [name, message] of refused) assert.match(nameProblem(name) ?? "", message, name);
});

Deno.test("POST /api/captures stores names in NFC: café in NFD clashes with café in NFC", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const { capture } = await postCapture(t, "owner", { name: "caf\u00e9", envId: env.id });
  const again = await t.as("owner").post("/api/captures", { name: "cafe\u0301", envId: env.id });
  await assertProblem(again, 409);
  const { capture: nfd } = await postCapture(t, "owner", { name: "the\u0301", envId: env.id });
  assert.equal(nfd.name, "th\u00e9");
  // The filter normalises too, whichever form the caller sends.
  for (const spelling of ["caf%C3%A9", "cafe%CC%81"]) {
    const list = await (await t.as("owner").get(`/api/captures?name=${spelling}`)).json();
    assert.deepEqual(list.map((c: { id: number }) => c.id), [capture.id], spelling);
  }
  // Renaming into the other form of a taken name clashes as well.
  const rename = await t.as("owner").patch(`/api/captures/${nfd.id}`, { name: "cafe\u0301" });
  await assertProblem(rename, 409);
});

Deno.test("POST /api/captures and /api/environments refuse names without a visible character or with hidden ones", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  await postCapture(t, "owner", { name: "x", envId: env.id });
  for (const name of ["x\u200b", "\u200b", " \u3164 ", "\u2800", "\u202ex", "\t\n", "\u00a0"]) {
    const body = await assertProblem(
      await t.as("owner").post("/api/captures", { name, envId: env.id }),
      400,
    );
    assert.deepEqual(body.errors?.map((e) => e.path), ["name"], JSON.stringify(name));
    const envBody = { name, region: "us-east-1", dbInstanceIdentifier: "db-1" };
    await assertProblem(await t.as("owner").post("/api/environments", envBody), 400);
  }
  const first = await t.as("owner").post("/api/environments", {
    name: "r\u00e9gion",
    region: "us-east-1",
    dbInstanceIdentifier: "db-1",
  });
  assert.equal(first.status, 201);
  const second = await t.as("owner").post("/api/environments", {
    name: "re\u0301gion",
    region: "us-east-1",
    dbInstanceIdentifier: "db-1",
  });
  await assertProblem(second, 409);
});

const userIdsRefused = [
  "",
  "a\u0000b",
  "a\u0001",
  "\u001b[31m",
  "a\u007f",
  "a\u0085",
  "a\nb",
  "a\u2028b",
  "x".repeat(256),
  "a\ud800",
];

Deno.test("userIdProblem() allows 1–255 well-formed characters without control characters", () => {
  for (
    const ok of [
      "user-1",
      "auth0|5f1c",
      "alice@example.com",
      "x".repeat(255),
      "🙂".repeat(255),
      "é ü",
    ]
  ) {
    assert.equal(userIdProblem(ok), undefined, ok);
  }
  for (const bad of userIdsRefused) assert.ok(userIdProblem(bad), JSON.stringify(bad));
});

Deno.test("a token whose sub breaks the user-id rule is 401 at the door", async () => {
  await using t = await testContext({ now: NOW });
  for (const sub of userIdsRefused) {
    const token = await mintToken(TEST_SECRET, { sub, now: t.clock() });
    const res = await t.app.request("/api/environments", {
      headers: { Authorization: `Bearer ${token}` },
    });
    await assertProblem(res, 401);
  }
  const longest = await mintToken(TEST_SECRET, { sub: "x".repeat(255), now: t.clock() });
  const ok = await t.app.request("/api/environments", {
    headers: { Authorization: `Bearer ${longest}` },
  });
  assert.equal(ok.status, 200);
});

Deno.test("PUT /api/environments/{id}/members/{userId} refuses a user id the token door refuses", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  for (const bad of ["a%00b", "a%01", "%1B%5B31m", "a%7F", "a%C2%85", "a%0Ab", "x".repeat(256)]) {
    const res = await t.as("owner").put(`/api/environments/${env.id}/members/${bad}`, {
      role: "member",
    });
    const body = await assertProblem(res, 400);
    assert.deepEqual(body.errors?.map((e) => e.path), ["userId"], bad);
  }
  const res = await t.as("owner").put(`/api/environments/${env.id}/members/${"x".repeat(255)}`, {
    role: "member",
  });
  assert.equal(res.status, 201);
});

Deno.test("deno task token refuses a --sub the verifier would refuse", async () => {
  const run = (sub: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", "scripts/token.ts", "--sub", sub],
      cwd: ROOT,
      env: { JWT_SECRET: TEST_SECRET },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const bad = await run("a\u0001b");
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /--sub must not contain control characters/);
  const long = await run("x".repeat(256));
  assert.equal(long.code, 2);
  const ok = await run("user-1");
  assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
  assert.match(new TextDecoder().decode(ok.stdout), /^ey/);
});

Deno.test("POST /api/captures refuses a JSON body that is not valid UTF-8 and stores nothing", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("owner");
  const head = new TextEncoder().encode(`{"name":"bad`);
  const tail = new TextEncoder().encode(`","envId":${env.id}}`);
  const body = new Uint8Array([...head, 0xff, ...tail]);
  const res = await t.app.request("/api/captures", {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await t.token("owner")}`,
      "Content-Type": "application/json",
    },
    body,
  });
  const text = await res.text();
  assert.equal(res.status, 400, text);
  assert.equal(JSON.parse(text).errors[0].path, "body");
  assert.deepEqual(await (await t.as("owner").get("/api/captures")).json(), []);
});

Deno.test("a path whose percent-escapes are not UTF-8 is a 400, at every door", async () => {
  await using t = await testContext();
  const env = await t.createEnvironment("owner");
  for (const segment of ["%FF", "%ED%A0%80", "%C0%AF", "a%E2%82"]) {
    const put = await t.as("owner").put(`/api/environments/${env.id}/members/${segment}`, {
      role: "member",
    });
    const problem = await assertProblem(put, 400);
    assert.equal(problem.errors?.[0].path, "userId", segment);
    const get = await assertProblem(await t.as("owner").get(`/api/captures/${segment}`), 400);
    assert.equal(get.errors?.[0].path, "id", segment);
  }
  // A well-formed escape of "%" names the user "%FF", once.
  const put = await t.as("owner").put(`/api/environments/${env.id}/members/%25FF`, {
    role: "member",
  });
  assert.equal(put.status, 201, await put.text());
  const members = await (await t.as("owner").get(`/api/environments/${env.id}/members`)).json();
  assert.deepEqual(members.map((m: { userId: string }) => m.userId).sort(), ["%FF", "owner"]);
});
