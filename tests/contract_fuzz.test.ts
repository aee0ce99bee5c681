/**
 * Contract fuzzing: for every operation in openapi/openapi.json, fast-check generates requests
 * (path ids of seeded rows, unknown ids and garbage; query strings and JSON bodies from the
 * declared schemas, valid and not; every kind of caller) and each answer is checked against the
 * document with ajv: never a 5xx, only declared statuses, problem+json for errors (400s naming
 * fields), and 2xx bodies matching their declared schema.
 *
 * The strings include the hostile-input kinds (issue 16): control characters, non-canonical
 * numbers (0x7, " 7", 07, 1e3, +7, 7.0, -0, 2^53 + 1), media-type spellings with their RFC 9110
 * verdicts, and Unicode edge names (NFD, zero-width, bidi, U+3164, lone surrogates as %ED%A0%80);
 * checkInputKinds holds the promises of the strict parsers. A full run is over 10,000 requests.
 *
 * FUZZ_SEED=n replays a run; FUZZ_RUNS=x scales the number of requests (default 1);
 * FUZZ_LOG=<operationId> prints every answer that operation gives.
 */
import assert from "node:assert/strict";
import fc from "../dev_deps/fast_check.ts";
import { mintToken } from "../auth/mint.ts";
import { METRIC_TYPES } from "../metrics/catalogue.ts";
import { fakeCloudWatchEnv, startFakeCloudWatch } from "./fakes/cloudwatch.ts";
import { FAKE_DIGESTS, startFakePi } from "./fakes/pi.ts";
import { startFakeRds } from "./fakes/rds.ts";
import { TEST_SECRET, type TestContext, testContext } from "./helpers/context.ts";
import {
  bodyOf,
  type BodySpec,
  type Caller,
  callerOf,
  edgeDateTimes,
  type Hints,
  isUserId,
  JSON_SPELLINGS,
  type PathValue,
  pathValue,
  queryOf,
  RawQuery,
  Ref,
  spell,
  strayBody,
  UNICODE_EDGE_NAMES,
} from "./helpers/fuzz_values.ts";
import {
  type Contract,
  loadContract,
  type Operation,
  type Schema,
} from "./helpers/openapi_contract.ts";

const NOW = "2026-01-15T12:00:00Z";
const NOW_MS = Date.parse(NOW);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const USERS = ["owner", "admin2", "member", "stranger"];
const BROKEN = ["anon", "expired", "wrongSecret", "emptySub", "basic", "bearerOnly"];
/** Statuses any operation can give for reasons outside its own contract. */
const CROSS_CUTTING = new Set([401, 405, 413, 415]);
const SCALE = Number(Deno.env.get("FUZZ_RUNS") ?? "1");
const SEED = Deno.env.get("FUZZ_SEED");
const HUGE = JSON.stringify({ name: "x".repeat(1024 * 1024 + 16) });

type World = Record<string, string | number>;

interface Plan {
  runs: number;
  /** Builds the rows the run acts on: shared seed for reads, fresh rows for state changes. */
  world: (t: TestContext) => Promise<World>;
  /** Ref names per path parameter. */
  params?: Record<string, string[]>;
  hints?: Hints;
}

const refs = (...names: string[]) => fc.constantFrom(...names.map((n) => new Ref(n)));
const SEED_CAPTURES = [
  "running",
  "runningPast",
  "runningMember",
  "scheduled",
  "done",
  "doneOld",
  "other",
  "deletedCapture",
];
const FRESH_CAPTURES = ["running", "runningMember", "scheduled", "done", "other", "deletedCapture"];
const ENVS = ["envA", "envB", "envC", "envDeleted"];
const FRESH_ENVS = ["env", "envB", "envDeleted"];

const past = fc.integer({ min: 1, max: 20 * DAY }).map((d) => new Date(NOW_MS - d).toISOString());
const future = fc.integer({ min: 1, max: 20 * DAY }).map((d) => new Date(NOW_MS + d).toISOString());
const freshName = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 30 })
  .filter((s) => s.trim().length > 0);
/** A seeded capture name in NFC; its NFD spelling must clash with it, never make a second one. */
const CAFE = "caf\u00e9 seed";
const edgeName = fc.oneof(
  fc.constantFrom(...UNICODE_EDGE_NAMES, CAFE.normalize("NFD"), ` ${CAFE.normalize("NFD")}\t`),
  fc.tuple(fc.constantFrom(...UNICODE_EDGE_NAMES), freshName).map(([a, b]) => `${b}${a}`),
);
const captureHints: Hints = {
  name: fc.oneof(
    { weight: 1, arbitrary: refs("captureName") },
    { weight: 3, arbitrary: freshName },
    { weight: 2, arbitrary: edgeName },
  ),
  envId: fc.oneof({ weight: 4, arbitrary: refs("envC") }, {
    weight: 1,
    arbitrary: refs("envB", "envDeleted"),
  }),
  start: fc.oneof({ weight: 2, arbitrary: past }, { weight: 1, arbitrary: edgeDateTimes }),
  scheduledStart: fc.oneof({ weight: 2, arbitrary: future }, {
    weight: 1,
    arbitrary: edgeDateTimes,
  }),
  duration: fc.constantFrom(60, 3600, 86_400, 2_592_000),
};
const envHints: Hints = {
  name: fc.oneof(
    { weight: 1, arbitrary: refs("envName") },
    { weight: 3, arbitrary: freshName },
    { weight: 2, arbitrary: edgeName },
  ),
  region: fc.constantFrom("us-east-1", "eu-west-1", "us-gov-west-1", "ap-southeast-2"),
  dbInstanceIdentifier: fc.stringMatching(/^[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,8}){0,3}$/),
  credentials: fc.option(
    fc.record({
      accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,40}$/),
      secretAccessKey: fc.string({ minLength: 16, maxLength: 60 }),
    }),
    { nil: null },
  ),
};
const metricsHints: Hints = {
  type: fc.constantFrom(...METRIC_TYPES, "CPU UTILIZATION", "cpuutilization", "Freeable Memory"),
  stat: fc.constantFrom("Average", "p99", "p99.99", "Sum", "SampleCount", "minimum", "P50", "p100"),
  period: fc.constantFrom(60, 300, 3600, 120, 59, 61, 86_400, 2 ** 31),
};

/** compare and compare.svg: the metrics query, and a baseline among the seed's captures. */
const compareSpec: Plan = {
  runs: 300,
  world: seedWorld,
  params: { id: SEED_CAPTURES },
  hints: { ...metricsHints, with: refs(...SEED_CAPTURES) },
};

// Every operation the document declares must have a plan; a new one fails until it gets one.
// They run in this order: reads on the untouched seed, then creates, then changes.
const plans: Record<string, Plan> = {
  getHealth: { runs: 200, world: seedWorld },
  getProblemType: {
    runs: 100,
    world: async () => ({
      ...await seedWorld(),
      nameTaken: "name-taken",
      notFound: "not-found",
    }),
    params: { kind: ["nameTaken", "notFound"] },
  },
  listEnvironments: { runs: 500, world: seedWorld },
  getEnvironment: { runs: 1200, world: seedWorld, params: { id: ENVS } },
  listMembers: { runs: 800, world: seedWorld, params: { id: ENVS } },
  listCaptures: {
    runs: 1700,
    world: seedWorld,
    hints: {
      envId: refs(...ENVS),
      name: fc.oneof(refs("captureName"), fc.constantFrom(CAFE, CAFE.normalize("NFD"))),
      cursor: refs("cursor"),
      limit: fc.integer({ min: 1, max: 3 }),
    },
  },
  getCapture: { runs: 1700, world: seedWorld, params: { id: SEED_CAPTURES } },
  getCaptureMetrics: {
    runs: 800,
    world: seedWorld,
    params: { id: SEED_CAPTURES },
    hints: metricsHints,
  },
  getCaptureLoad: {
    runs: 300,
    world: seedWorld,
    params: { id: SEED_CAPTURES },
    hints: {
      groupBy: fc.constantFrom("wait", "sql", "user", "host", "SQL", "query"),
      limit: fc.constantFrom(1, 10, 25, 26, 0),
    },
  },
  getCaptureSqlText: {
    runs: 150,
    world: seedWorld,
    params: { id: SEED_CAPTURES, digestId: ["digest0", "digest1", "unknownDigest"] },
  },
  getCaptureMetricsChart: {
    runs: 150,
    world: seedWorld,
    params: { id: SEED_CAPTURES },
    hints: metricsHints,
  },
  compareCaptures: compareSpec,
  getComparisonChart: compareSpec,
  createCapture: { runs: 1200, world: seedWorld, hints: captureHints },
  createEnvironment: { runs: 800, world: seedWorld, hints: envHints },
  updateCapture: {
    runs: 200,
    world: freshCaptures,
    params: { id: FRESH_CAPTURES },
    hints: captureHints,
  },
  patchCapture: {
    runs: 200,
    world: freshCaptures,
    params: { id: FRESH_CAPTURES },
    hints: captureHints,
  },
  stopCapture: { runs: 150, world: freshCaptures, params: { id: FRESH_CAPTURES } },
  deleteCapture: { runs: 150, world: freshCaptures, params: { id: FRESH_CAPTURES } },
  updateEnvironment: { runs: 150, world: freshEnv, params: { id: FRESH_ENVS }, hints: envHints },
  deleteEnvironment: { runs: 150, world: freshEnv, params: { id: FRESH_ENVS } },
  // Few of their requests are valid (an admin, a fresh environment and a member at once): ~3% of
  // them succeeded, so at 150 runs one in a few hundred runs saw none and failed the 2xx check.
  putMember: { runs: 400, world: freshEnv, params: { id: FRESH_ENVS, userId: USERS } },
  deleteMember: { runs: 400, world: freshEnv, params: { id: FRESH_ENVS, userId: USERS } },
};

// ---------------------------------------------------------------------------------------------
// Worlds: the seed shared by read-only operations, and fresh rows for state-changing ones.

let seed: World = {};
const NO_QUOTAS = {
  QUOTA_ENVIRONMENTS_PER_USER: "0",
  QUOTA_CAPTURES_PER_ENVIRONMENT: "0",
  QUOTA_RUNNING_CAPTURES_PER_ENVIRONMENT: "0",
  QUOTA_METRICS_REQUESTS_PER_MINUTE: "0",
};
let counter = 0;
const tokens = new Map<string, string>();

async function post(t: TestContext, user: string, path: string, body: unknown) {
  const res = await t.app.request(path, {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens.get(user)}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 201, `seeding ${path}: ${text}`);
  return JSON.parse(text) as { id: number; name: string; status: string };
}

const capture = (t: TestContext, envId: number, body: Record<string, unknown>, user = "owner") =>
  post(t, user, "/api/captures", { name: `cap-${++counter}`, envId, ...body });

async function environment(t: TestContext, owner = "owner", name = `env-${++counter}`) {
  const env = await post(t, owner, "/api/environments", {
    name,
    region: "us-east-1",
    dbInstanceIdentifier: "prod-mysql-1",
  });
  if (owner === "owner") {
    await t.addMember(env.id, "admin2", "admin");
    await t.addMember(env.id, "member", "member");
  }
  return env;
}

async function buildSeed(t: TestContext): Promise<World> {
  for (const user of USERS) tokens.set(user, await t.token(user));
  const envA = await environment(t, "owner", "fuzz-a");
  const envB = await environment(t, "stranger", "fuzz-b");
  const envC = await environment(t, "owner", "fuzz-c");
  const envDeleted = await environment(t, "owner");
  const at = (offset: number) => new Date(NOW_MS + offset).toISOString();
  const world: World = {
    ...Object.fromEntries(USERS.map((u) => [u, u])),
    envA: envA.id,
    envB: envB.id,
    envC: envC.id,
    envName: "fuzz-a",
    digest0: FAKE_DIGESTS[0].id,
    digest1: FAKE_DIGESTS[1].id,
    unknownDigest: "NOPE",
    running: (await capture(t, envA.id, {})).id,
    runningPast: (await capture(t, envA.id, { start: at(-30 * MINUTE), duration: 7200 })).id,
    runningMember: (await capture(t, envA.id, { start: at(-10 * MINUTE) }, "member")).id,
    scheduled: (await capture(t, envA.id, { scheduledStart: at(HOUR), duration: 3600 })).id,
    done: (await capture(t, envA.id, { start: at(-3 * HOUR), duration: 3600 })).id,
    doneOld: (await capture(t, envA.id, { start: at(-40 * DAY), duration: 2 * 86_400 })).id,
    other: (await capture(t, envB.id, {}, "stranger")).id,
    captureName: (await capture(t, envC.id, { start: at(-HOUR) })).name,
  };
  await capture(t, envC.id, { name: CAFE, start: at(-2 * HOUR) });
  const gone = await capture(t, envA.id, {});
  await t.as("owner").delete(`/api/captures/${gone.id}`);
  world.deletedCapture = gone.id;
  const dropped = await t.as("owner").delete(`/api/environments/${envDeleted.id}`);
  assert.equal(dropped.status, 204);
  world.envDeleted = envDeleted.id;
  const page = await t.as("owner").get(`/api/captures?envId=${envA.id}&limit=2`);
  const link = page.headers.get("link") ?? "";
  await page.body?.cancel();
  world.cursor = decodeURIComponent(/cursor=([^&>]+)/.exec(link)?.[1] ?? "missing");
  return world;
}

function seedWorld(): Promise<World> {
  return Promise.resolve(seed);
}

/** Captures in each status, made for this run only, in environment C. */
async function freshCaptures(t: TestContext): Promise<World> {
  const envC = seed.envC as number;
  const at = (offset: number) => new Date(NOW_MS + offset).toISOString();
  const done = await capture(t, envC, { start: at(-3 * HOUR), duration: 3600 });
  return {
    ...seed,
    running: (await capture(t, envC, { start: at(-10 * MINUTE), duration: 3600 })).id,
    runningMember: (await capture(t, envC, { start: at(-5 * MINUTE) }, "member")).id,
    scheduled: (await capture(t, envC, { scheduledStart: at(HOUR), duration: 600 })).id,
    done: done.id,
    captureName: done.name,
  };
}

/** An environment with an owner-admin, a second admin and a plain member, for this run only. */
async function freshEnv(t: TestContext): Promise<World> {
  const env = await environment(t);
  return { ...seed, env: env.id };
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Generated {
  caller: Caller;
  params: Record<string, PathValue>;
  query: [string, unknown][];
  body: BodySpec;
}

function requestArb(contract: Contract, op: Operation, plan: Plan): fc.Arbitrary<Generated> {
  const params: Record<string, fc.Arbitrary<PathValue>> = {};
  for (const p of op.parameters.filter((p) => p.in === "path")) {
    const names = plan.params?.[p.name];
    assert.ok(names, `${op.operationId}: no refs for path parameter ${p.name}`);
    params[p.name] = pathValue(names, p.schema, contract.resolve, NOW_MS);
  }
  const bodySchema = op.requestBody?.content["application/json"]?.schema;
  const body = bodySchema
    ? bodyOf(bodySchema, contract.resolve, NOW_MS, plan.hints ?? {})
    : op.method === "GET"
    ? fc.constant<BodySpec>({ kind: "none" })
    : strayBody;
  return fc.record({
    caller: callerOf(USERS, BROKEN),
    params: fc.record(params),
    query: queryOf(op.parameters, contract.resolve, NOW_MS, plan.hints ?? {}),
    body,
  });
}

function resolveRefs(value: unknown, world: World): unknown {
  if (value instanceof Ref) {
    assert.ok(value.name in world, `no ${value.name} in the world`);
    return world[value.name];
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, world));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: resolveRefs(v, world),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

async function authorization(t: TestContext, caller: Caller): Promise<string | undefined> {
  if (typeof caller === "object") {
    return "header" in caller ? caller.header : `Bearer ${await t.token(caller.sub)}`;
  }
  switch (caller) {
    case "anon":
      return undefined;
    case "expired":
      return `Bearer ${await mintToken(TEST_SECRET, {
        sub: "owner",
        ttlSeconds: -600,
        now: t.clock(),
      })}`;
    case "wrongSecret":
      return `Bearer ${await mintToken("another-secret-that-is-also-32-bytes-long!", {
        sub: "owner",
        now: t.clock(),
      })}`;
    case "emptySub":
      return `Bearer ${await mintToken(TEST_SECRET, { sub: "", now: t.clock() })}`;
    case "basic":
      return `Basic ${btoa("owner:password")}`;
    case "bearerOnly":
      return "Bearer";
    default:
      return `Bearer ${tokens.get(caller)}`;
  }
}

interface Sent {
  method: string;
  url: string;
  /** Path parameters that carried a seeded id in a non-canonical spelling (0x2a, " 42", …). */
  respelled: string[];
  /** The Content-Type sent, if any. */
  contentType: string | null;
  body?: string;
  /** The JSON value sent, when the body was JSON. */
  json?: unknown;
  jsonContentType: boolean;
  authenticated: boolean;
}

async function send(t: TestContext, op: Operation, g: Generated, world: World) {
  let url = op.path;
  const respelled: string[] = [];
  for (const [name, value] of Object.entries(g.params)) {
    let text: string;
    if (value instanceof Ref) {
      const resolved = resolveRefs(value, world) as string | number;
      text = encodeURIComponent(spell(resolved, value.spelling));
      if (typeof resolved === "number" && value.spelling !== "plain") respelled.push(name);
    } else {
      text = value.raw;
    }
    url = url.replace(`{${name}}`, text);
  }
  // RawQuery values go as they are (already encoded); the rest as URLSearchParams encodes them.
  const pairs = g.query.map(([k, v]) =>
    v instanceof RawQuery
      ? `${encodeURIComponent(k)}=${v.raw}`
      : new URLSearchParams([[k, String(resolveRefs(v, world))]]).toString()
  );
  if (pairs.length > 0) url += `?${pairs.join("&")}`;

  const headers: Record<string, string> = {};
  const auth = await authorization(t, g.caller);
  if (auth !== undefined) headers.Authorization = auth;
  let body: string | undefined;
  let json: unknown;
  let contentType: string | null = null;
  if (g.body.kind === "json") {
    json = resolveRefs(g.body.value, world);
    body = JSON.stringify(json);
    contentType = g.body.contentType;
  } else if (g.body.kind === "text") {
    body = g.body.text;
    contentType = g.body.contentType;
  } else if (g.body.kind === "huge") {
    body = HUGE;
    contentType = g.body.contentType;
  }
  if (contentType !== null && body !== undefined) headers["Content-Type"] = contentType;
  const res = await t.app.request(url, { method: op.method, headers, body });
  const sent: Sent = {
    method: op.method,
    url,
    body: body && body.length > 2000 ? `${body.slice(0, 200)}… (${body.length} bytes)` : body,
    json,
    respelled,
    contentType,
    jsonContentType: contentType !== null && JSON_SPELLINGS[contentType] === true,
    authenticated: USERS.includes(g.caller as string) ||
      typeof g.caller === "object" && "sub" in g.caller && isUserId(g.caller.sub),
  };
  return { res, sent };
}

// ---------------------------------------------------------------------------------------------
// Checks

interface Tally {
  requests: number;
  statuses: Map<number, number>;
  /** Datapoints in 2xx bodies (the metrics operation), to show the fake answered real data. */
  datapoints: number;
}
const tallies = new Map<string, Tally>();
const undeclared = new Map<string, string>();
/** Operations that need no token. */
const PUBLIC_OPERATIONS = new Set(["getHealth", "getProblemType"]);

/** Every field name a 400 may point at: parameters, schema properties, and whatever was sent. */
function fieldNames(contract: Contract, op: Operation, sent: Sent): Set<string> {
  const names = new Set(["body", ...op.parameters.map((p) => p.name)]);
  const collect = (schema: Schema | undefined) => {
    const s = schema && contract.resolve(schema);
    for (const k of Object.keys(s?.properties ?? {})) names.add(k);
  };
  collect(op.requestBody?.content["application/json"]?.schema);
  if (sent.json && typeof sent.json === "object" && !Array.isArray(sent.json)) {
    for (const k of Object.keys(sent.json)) names.add(k);
  }
  for (const [k] of new URL(sent.url, "http://x").searchParams) names.add(k);
  return names;
}

async function check(contract: Contract, op: Operation, res: Response, sent: Sent) {
  const text = await res.text();
  const status = res.status;
  const where = `${sent.method} ${sent.url} -> ${status}\nrequest body: ${sent.body}\n` +
    `authorization ok: ${sent.authenticated}\nresponse: ${text.slice(0, 1500)}`;
  const tally = tallies.get(op.operationId)!;
  tally.requests++;
  tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);

  if (Deno.env.get("FUZZ_LOG") === op.operationId) {
    console.log(`${status} ${sent.url} ${sent.body} ${text.slice(0, 300)}`);
  }
  assert.ok(status < 500, `5xx answer\n${where}`);
  const declared = op.responses[String(status)];
  if (!declared) {
    assert.ok(CROSS_CUTTING.has(status), `status ${status} is not declared\n${where}`);
    undeclared.set(`${op.operationId} ${status}`, `${sent.method} ${sent.url}`);
  }
  if (!PUBLIC_OPERATIONS.has(op.operationId) && !sent.authenticated) {
    assert.ok(status === 401 || status === 413, `a bad credential got past auth\n${where}`);
  }
  if (sent.authenticated) assert.notEqual(status, 401, `a valid token was refused\n${where}`);
  checkInputKinds(contract, op, status, sent, where, text);
  const mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();

  if (status >= 400) {
    assert.equal(mediaType, "application/problem+json", `errors must be problem+json\n${where}`);
    const body = JSON.parse(text);
    const problemError = contract.check(contract.problem, body);
    assert.equal(problemError, null, `not a Problem: ${problemError}\n${where}`);
    assert.equal(body.status, status, `problem status differs\n${where}`);
    if (status === 400) {
      assert.ok(body.errors?.length > 0, `a 400 must list errors\n${where}`);
      const names = fieldNames(contract, op, sent);
      for (const e of body.errors) {
        assert.ok(e.path.length > 0 && e.message.length > 0, `empty error entry\n${where}`);
        // Keys may contain dots themselves, so match whole names as prefixes of the path.
        const named = [...names].some((n) => e.path === n || e.path.startsWith(`${n}.`));
        assert.ok(named, `error path "${e.path}" names no field\n${where}`);
      }
    }
    if (status === 401) assert.ok(res.headers.get("www-authenticate"), `no challenge\n${where}`);
    if (status === 405) assert.ok(res.headers.get("allow"), `405 without Allow\n${where}`);
  }
  if (declared?.content) {
    const schema = declared.content[mediaType]?.schema;
    assert.ok(schema, `content type "${mediaType}" is not declared for ${status}\n${where}`);
    // SVG (and CSV) answers are text; their schema is a string.
    const body = mediaType.endsWith("json") ? JSON.parse(text) : text;
    const error = contract.check(schema, body);
    assert.equal(error, null, `response does not match its schema: ${error}\n${where}`);
    for (const series of body?.series ?? []) tally.datapoints += series.datapoints?.length ?? 0;
  } else if (declared) {
    assert.equal(text, "", `${status} declares no body\n${where}`);
  }
  if (status >= 200 && status < 300 && op.requestBody) {
    // The converse promise: what the document calls invalid is never accepted.
    const schema = op.requestBody.content["application/json"].schema;
    assert.ok(sent.jsonContentType, `accepted a non-JSON content type\n${where}`);
    const error = contract.check(schema, sent.json);
    assert.equal(error, null, `accepted a body the document refuses: ${error}\n${where}`);
  }
  for (const [name, header] of Object.entries(declared?.headers ?? {})) {
    if ((header as { required?: boolean }).required) {
      assert.ok(res.headers.get(name), `declared header ${name} is missing\n${where}`);
    }
  }
  const link = res.headers.get("link");
  if (link) assert.match(link, /^<\/api\/[^>]*>; rel="next"$/, `odd Link header\n${where}`);
}

const CANONICAL = /^(0|[1-9][0-9]*)$/;

/** Whether a URL's path has a percent-escape that does not decode to UTF-8. */
function undecodablePath(url: string): boolean {
  return url.split("?")[0].split("/").some((segment) => {
    try {
      decodeURIComponent(segment);
      return false;
    } catch {
      return true;
    }
  });
}
// Characters no stored name may hold (restated, not imported): zero-width, soft hyphen, BOM,
// word joiner, bidi controls, Hangul fillers, line and paragraph separators; and names need
// something besides blanks.
const HIDDEN =
  /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\u00ad\ufeff\u3164\u115f\u1160\uffa0\u2028\u2029]/;
const BLANK_ONLY = /^[\s\u2800\u3164]*$/;
const NAMED_OPERATIONS = new Set([
  "createCapture",
  "updateCapture",
  "patchCapture",
  "createEnvironment",
  "updateEnvironment",
]);

/** The strict input parsers' promises, checked from what was sent and what came back. */
function checkInputKinds(
  contract: Contract,
  op: Operation,
  status: number,
  sent: Sent,
  where: string,
  text: string,
) {
  const ok = status >= 200 && status < 300;
  const errorPaths = status === 400 ? errorPathsOf(text) : [];
  // Integers: a seeded id spelled another way is refused and named, never read as the id.
  for (const name of sent.respelled) {
    assert.ok([400, 401, 413, 415].includes(status), `a respelled ${name} was read\n${where}`);
    // Query parameters are validated first; a bad one answers before the path is looked at.
    // So does a path segment whose percent-escapes are not UTF-8, named as its parameter.
    const queryNames = op.parameters.filter((p) => p.in === "query").map((p) => p.name);
    const pathNames = op.parameters.filter((p) => p.in === "path").map((p) => p.name);
    const named = errorPaths.includes(name) ||
      errorPaths.some((p) => queryNames.includes(p.split(".")[0])) ||
      (undecodablePath(sent.url) && errorPaths.some((p) => pathNames.includes(p)));
    if (status === 400) assert.ok(named, `400 without ${name}\n${where}`);
  }
  const query = new URL(sent.url, "http://x").searchParams;
  for (const p of op.parameters.filter((p) => p.in === "query")) {
    const values = query.getAll(p.name);
    if (values.length === 0) continue;
    // Empty means absent: never "too small" or any other complaint about p.
    // A required one is then missing, which is its own complaint.
    if (values.every((v) => v === "") && !p.required) {
      assert.ok(!errorPaths.includes(p.name), `empty ${p.name} was not taken as absent\n${where}`);
    }
    const s = contract.resolve(p.schema);
    if (s.type === "integer" && values.some((v) => v !== "" && !CANONICAL.test(v))) {
      assert.ok(!ok, `a non-canonical ${p.name} was accepted\n${where}`);
    }
  }
  // Media types: every spelling the RFCs call UTF-8 JSON passes; a 415 is only for the others.
  if (sent.contentType !== null) {
    assert.ok(sent.contentType in JSON_SPELLINGS, `no verdict for ${sent.contentType}\n${where}`);
  }
  if (status === 415) {
    assert.ok(!sent.jsonContentType, `a valid JSON media type was refused\n${where}`);
    assert.deepEqual(errorPathsOf(text), ["Content-Type"], `415 must name the header\n${where}`);
  }
  // Names: what is stored is NFC, trimmed, visible and free of hidden characters; one spelling.
  if (ok && NAMED_OPERATIONS.has(op.operationId)) {
    const { name, envId } = JSON.parse(text) as { name: string; envId?: number };
    assert.equal(name, name.normalize("NFC").trim(), `a name was stored unnormalised\n${where}`);
    assert.ok(!HIDDEN.test(name) && !BLANK_ONLY.test(name), `a hidden name got in\n${where}`);
    // CAFE lives in environment C; another environment may hold its own.
    if (op.operationId === "createCapture" && envId === seed.envC) {
      assert.notEqual(name, CAFE, `a second "${CAFE}" was created from its NFD\n${where}`);
    }
  }
}

function errorPathsOf(text: string): string[] {
  return (JSON.parse(text).errors ?? []).map((e: { path: string }) => e.path);
}

// ---------------------------------------------------------------------------------------------

Deno.test("every operation in openapi.json keeps its contract under fuzzed requests", async (tc) => {
  const contract = await loadContract();
  await using fake = await startFakeCloudWatch();
  await using pi = await startFakePi();
  await using rds = await startFakeRds();
  await using t = await testContext({
    now: NOW,
    // Thousands of requests on a frozen clock: quotas (tests/quotas.test.ts) would answer 429.
    env: {
      ...fakeCloudWatchEnv(fake),
      ...NO_QUOTAS,
      PI_ENDPOINT: pi.url,
      RDS_ENDPOINT: rds.url,
    },
  });
  seed = await buildSeed(t);

  const missing = contract.operations.filter((op) => !plans[op.operationId]);
  assert.deepEqual(missing.map((op) => op.operationId), [], "operations without a fuzz plan");

  // In the order of `plans`: reads on the untouched seed, then creates, then changes.
  const order = (op: Operation) => Object.keys(plans).indexOf(op.operationId);
  const operations = [...contract.operations].sort((a, b) => order(a) - order(b));
  const started = performance.now();
  for (const op of operations) {
    const plan = plans[op.operationId];
    tallies.set(op.operationId, { requests: 0, statuses: new Map(), datapoints: 0 });
    await tc.step(`${op.method} ${op.path} (${op.operationId})`, async () => {
      await fc.assert(
        fc.asyncProperty(requestArb(contract, op, plan), async (g) => {
          const world = await plan.world(t);
          const { res, sent } = await send(t, op, g, world);
          await check(contract, op, res, sent);
        }),
        {
          numRuns: Math.max(1, Math.round(plan.runs * SCALE)),
          ...(SEED ? { seed: Number(SEED) } : {}),
        },
      );
    });
  }

  let notAllowed = 0;
  await tc.step("methods a path does not declare answer 405 with Allow", async () => {
    const paths = new Map<string, string[]>();
    for (const op of contract.operations) {
      paths.set(op.path, [...(paths.get(op.path) ?? []), op.method]);
    }
    for (const [path, methods] of paths) {
      const url = path.replace("{id}", String(seed.envA)).replace("{userId}", "member");
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
        if (methods.includes(method)) continue;
        const res = await t.app.request(url, {
          method,
          headers: { Authorization: `Bearer ${tokens.get("owner")}` },
        });
        const body = await res.json();
        assert.equal(res.status, 405, `${method} ${url}`);
        assert.equal(contract.check(contract.problem, body), null);
        const allow = (res.headers.get("allow") ?? "").split(", ");
        for (const m of methods) assert.ok(allow.includes(m), `${method} ${url}: Allow ${allow}`);
        notAllowed++;
      }
    }
  });

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const total = [...tallies.values()].reduce((n, x) => n + x.requests, 0);
  if (SCALE >= 1) assert.ok(total >= 10_000, `only ${total} requests; the issue asks 10,000`);
  const lines = [...tallies].map(([id, x]) =>
    `  ${id.padEnd(20)} ${String(x.requests).padStart(4)}  ${
      [...x.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ")
    }${x.datapoints ? `  (${x.datapoints} datapoints)` : ""}`
  );
  console.log(
    `contract fuzz: ${total} requests in ${seconds}s\n${lines.join("\n")}\n` +
      `cross-cutting statuses seen but not declared by the operation:\n${
        [...undeclared].map(([k, v]) => `  ${k}  (e.g. ${v})`).join("\n") || "  none"
      }\n  405 on ${notAllowed} method/path pairs that have no operation to declare it on`,
  );

  // A generator that never gets past validation proves little: every operation must succeed.
  for (const [id, x] of tallies) {
    const ok = [...x.statuses].some(([s, n]) => s >= 200 && s < 300 && n > 0);
    assert.ok(ok, `${id} never answered 2xx; the generators need better valid requests`);
  }
  assert.ok(tallies.get("getCaptureMetrics")!.datapoints > 0, "metrics never carried data");
});

// The fuzzer's first finds, kept as plain cases: instants outside years 0–9999 came back as
// "+010000-…" and "-000001-…", which are not date-times.
Deno.test("POST /api/captures answers 400 for instants whose window leaves years 1970–9999", async () => {
  await using t = await testContext({ now: NOW });
  const env = await t.createEnvironment("owner");
  const cases: [Record<string, unknown>, string][] = [
    [{ scheduledStart: "9999-12-31T23:59:59Z", duration: 86_400 }, "scheduledStart"],
    [{ start: "0000-01-01T00:30:00+01:00" }, "start"],
  ];
  for (const [body, field] of cases) {
    const res = await t.as("owner").post("/api/captures", { name: "edge", envId: env.id, ...body });
    const problem = await res.json();
    assert.equal(res.status, 400, JSON.stringify(problem));
    assert.deepEqual(problem.errors.map((e: { path: string }) => e.path), [field]);
  }
});
