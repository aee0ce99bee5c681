/**
 * A fake Performance Insights for tests and the demo: a real HTTP server on 127.0.0.1 speaking
 * AWS JSON 1.1 (X-Amz-Target PerformanceInsightsv20180227.*) that checks every SigV4 signature
 * (service `pi`) with the independent signer, answers GetResourceMetrics, DescribeDimensionKeys
 * and GetDimensionKeyDetails with deterministic data (fakeLoad's formula), pages with NextToken,
 * and throttles, fails, hangs or answers garbage on demand.
 */
import { type FakeCredential, verifySigV4 } from "./_sigv4.ts";
import { TEST_CREDENTIALS } from "./cloudwatch.ts";
import { FAKE_DBI_RESOURCE_ID } from "./rds.ts";
import { serveFake } from "./_server.ts";

/** One group of the fake's data: its dimensions and its weight in the load formula. */
interface FakeGroup {
  dimensions: Record<string, string>;
  weight: number;
}

/** The SQL digests: statement, per-call statistics; their `db.sql.id` is `sql-<digest>`. */
export const FAKE_DIGESTS = [
  {
    id: "DIGEST0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    statement: "SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
    weight: 3,
    callsPerSecond: 120,
    latencyMsPerCall: 4.5,
    rowsPerCall: 250,
  },
  {
    id: "DIGEST1BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    statement: "UPDATE inventory SET quantity = quantity - ? WHERE sku = ?",
    weight: 2,
    callsPerSecond: 40,
    latencyMsPerCall: 9,
    rowsPerCall: 1,
  },
  {
    id: "DIGEST2CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
    statement: "INSERT INTO audit_log (actor, action, detail) VALUES (?, ?, ?)",
    weight: 1,
    callsPerSecond: 15,
    latencyMsPerCall: 1.5,
    rowsPerCall: 0,
  },
] as const;

/** The full text of a digest's statement: longer than the 500 bytes the other calls give. */
export const fullStatement = (digestId: string) => {
  const digest = FAKE_DIGESTS.find((d) => d.id === digestId)!;
  return `${digest.statement.replaceAll("?", "42")} /* ${"x".repeat(600)} */`;
};

const GROUPS: Record<string, FakeGroup[]> = {
  "db.wait_event": [
    {
      dimensions: { "db.wait_event.name": "io/table/sql/handler", "db.wait_event.type": "io" },
      weight: 3,
    },
    {
      dimensions: {
        "db.wait_event.name": "synch/mutex/innodb/buf_pool_mutex",
        "db.wait_event.type": "synch",
      },
      weight: 2,
    },
    { dimensions: { "db.wait_event.name": "CPU", "db.wait_event.type": "CPU" }, weight: 1 },
  ],
  "db.sql_tokenized": FAKE_DIGESTS.map((d) => ({
    dimensions: {
      "db.sql_tokenized.id": d.id,
      "db.sql_tokenized.db_id": `pi-${d.id.slice(0, 8)}`,
      "db.sql_tokenized.statement": d.statement,
    },
    weight: d.weight,
  })),
  "db.user": [
    { dimensions: { "db.user.name": "app", "db.user.id": "1" }, weight: 4 },
    { dimensions: { "db.user.name": "report", "db.user.id": "2" }, weight: 2 },
  ],
  "db.host": [
    { dimensions: { "db.host.name": "10.0.0.11", "db.host.id": "h1" }, weight: 5 },
    { dimensions: { "db.host.name": "10.0.0.12", "db.host.id": "h2" }, weight: 1 },
  ],
};

/** The sum of every group's weight: each group set adds up to 6. */
export const TOTAL_WEIGHT = 6;

/** The load formula: a group of weight `w` has w × base(t) active sessions at epoch second `t`. */
export function fakeBase(t: number): number {
  return 0.5 + (Math.floor(t / 60) % 10) / 10;
}

/** The load the fake answers for a group (weight) at the start `t` (epoch s) of a period. */
export function fakeLoad(weight: number, t: number): number {
  return weight * fakeBase(t);
}

/** What the fake does with one request. */
export type PiFault = "ok" | "throttle" | "http500" | "hang" | "garbage" | "denied";

/** One request the fake received. */
export interface PiCall {
  target: string | null;
  // deno-lint-ignore no-explicit-any -- tests read arbitrary fields of the request body
  body: any;
  status: number;
}

/** The running fake. */
export interface FakePi extends AsyncDisposable {
  url: string;
  calls: PiCall[];
  faults: PiFault[];
  /** The DbiResourceIds it serves. */
  identifiers: Set<string>;
  /**
   * Limits a SQL digest to a time range (epoch s): a query window that ends by `from` or starts
   * at or after `until` does not see it (a statement new in, or gone from, a later capture).
   */
  digestWindows: Map<string, { from?: number; until?: number }>;
  /** Every fault from now on (after the `faults` queue), e.g. "throttle" for a lasting outage. */
  always: PiFault;
  /** From now on every query has no data, as after Performance Insights' retention. */
  forget(): void;
  close(): Promise<void>;
}

const PREFIX = "PerformanceInsightsv20180227.";

/** Starts the fake; `pageSize` is the most datapoints a GetResourceMetrics page holds a series. */
export function startFakePi(
  options: { credentials?: FakeCredential[]; now?: () => Date; pageSize?: number } = {},
): Promise<FakePi> {
  const credentials = options.credentials ?? [TEST_CREDENTIALS];
  const now = options.now ?? (() => new Date());
  const pageSize = options.pageSize ?? 200;
  const calls: PiCall[] = [];
  const faults: PiFault[] = [];
  const identifiers = new Set([FAKE_DBI_RESOURCE_ID]);
  const digestWindows = new Map<string, { from?: number; until?: number }>();
  /** The groups of `group` a query over [start, end) sees. */
  const visible = (group: string, start: number, end: number) =>
    (GROUPS[group] ?? []).filter((g) => {
      const range = digestWindows.get(g.dimensions["db.sql_tokenized.id"] ?? "");
      return !range || ((range.from === undefined || end > range.from) &&
        (range.until === undefined || start < range.until));
    });
  const state = { forgotten: false, always: "ok" as PiFault };
  const closing = new AbortController();

  async function answer(req: Request, raw: Uint8Array, call: PiCall): Promise<Response | null> {
    const auth = await verifySigV4(req, raw, credentials, now(), "pi");
    if (!auth.ok) return jsonError(auth.status, auth.type, auth.message);
    if (req.headers.get("content-type") !== "application/x-amz-json-1.1") {
      return jsonError(400, "SerializationException", "Content-Type must be AWS JSON 1.1");
    }
    switch (faults.shift() ?? state.always) {
      case "throttle":
        return jsonError(400, "ThrottlingException", "Rate exceeded");
      case "http500":
        return jsonError(500, "InternalServiceError", "Internal error");
      case "denied":
        return jsonError(
          400,
          "NotAuthorizedException",
          "not authorized to perform pi:GetResourceMetrics",
        );
      case "garbage":
        return new Response('{"MetricList":[', {
          headers: { "content-type": "application/x-amz-json-1.1" },
        });
      case "hang":
        return await new Promise((resolve) => {
          if (closing.signal.aborted) resolve(null);
          closing.signal.addEventListener("abort", () => resolve(null), { once: true });
        });
    }
    const body = call.body;
    if (!body || typeof body !== "object" || body.ServiceType !== "RDS") {
      return jsonError(400, "InvalidArgumentException", "ServiceType must be RDS");
    }
    if (!identifiers.has(body.Identifier)) {
      return jsonError(400, "InvalidArgumentException", `No data source ${body.Identifier}`);
    }
    const operation = (call.target ?? "").replace(PREFIX, "");
    if (operation === "GetDimensionKeyDetails") {
      const digest = FAKE_DIGESTS.find((d) => `sql-${d.id}` === body.GroupIdentifier);
      if (body.Group !== "db.sql" || !digest) {
        return jsonError(400, "InvalidArgumentException", "Unknown GroupIdentifier");
      }
      return ok({
        Dimensions: [{
          Dimension: "db.sql.statement",
          Value: fullStatement(digest.id),
          Status: "AVAILABLE",
        }],
      });
    }
    const period = body.PeriodInSeconds ?? 60;
    if (![1, 60, 300, 3600, 86400].includes(period)) {
      return jsonError(400, "InvalidArgumentException", `PeriodInSeconds ${period} is not valid`);
    }
    if (
      typeof body.StartTime !== "number" || typeof body.EndTime !== "number" ||
      body.StartTime >= body.EndTime
    ) {
      return jsonError(
        400,
        "InvalidArgumentException",
        "StartTime must be before EndTime (epoch seconds)",
      );
    }
    const times: number[] = [];
    const first = Math.floor(body.StartTime / period) * period;
    if (!state.forgotten) { for (let t = first; t < body.EndTime; t += period) times.push(t); }
    if (operation === "GetResourceMetrics") {
      const offset = body.NextToken ? Number(atob(body.NextToken)) : 0;
      const slice = times.slice(offset, offset + pageSize);
      const list: unknown[] = [];
      for (const q of body.MetricQueries ?? []) {
        if (q.Metric !== "db.load.avg") {
          return jsonError(400, "InvalidArgumentException", `Unknown metric ${q.Metric}`);
        }
        if (!q.GroupBy) {
          list.push({
            Key: { Metric: "db.load.avg" },
            DataPoints: slice.map((t) => ({ Timestamp: t, Value: fakeLoad(TOTAL_WEIGHT, t) })),
          });
          continue;
        }
        const groups = GROUPS[q.GroupBy.Group] &&
          visible(q.GroupBy.Group, body.StartTime, body.EndTime);
        if (!groups) {
          return jsonError(400, "InvalidArgumentException", `Unknown group ${q.GroupBy.Group}`);
        }
        for (const g of groups.slice(0, q.GroupBy.Limit ?? 10)) {
          list.push({
            Key: { Metric: "db.load.avg", Dimensions: g.dimensions },
            DataPoints: slice.map((t) => ({ Timestamp: t, Value: fakeLoad(g.weight, t) })),
          });
        }
      }
      const next = offset + pageSize < times.length ? btoa(String(offset + pageSize)) : undefined;
      return ok({
        AlignedStartTime: first,
        AlignedEndTime: body.EndTime,
        Identifier: body.Identifier,
        MetricList: list,
        ...(next ? { NextToken: next } : {}),
      });
    }
    if (operation === "DescribeDimensionKeys") {
      const span = times.reduce((a, t) => a + fakeBase(t), 0) / Math.max(1, times.length);
      let keys: Array<Record<string, unknown>>;
      if (body.GroupBy?.Group === "db.sql") {
        const digestId = body.Filter?.["db.sql_tokenized.id"];
        keys = FAKE_DIGESTS.filter((d) => !digestId || d.id === digestId).map((d) => ({
          Dimensions: { "db.sql.id": `sql-${d.id}`, "db.sql_tokenized.id": d.id },
          Total: d.weight * span,
        }));
        if (!times.length) keys = [];
      } else {
        const groups = GROUPS[body.GroupBy?.Group] &&
          visible(body.GroupBy.Group, body.StartTime, body.EndTime);
        if (!groups) return jsonError(400, "InvalidArgumentException", "Unknown group");
        keys = (times.length ? groups : []).map((g) => {
          const digest = FAKE_DIGESTS.find((d) => d.id === g.dimensions["db.sql_tokenized.id"]);
          const names: Record<string, number> = digest
            ? {
              "db.sql_tokenized.stats.count_star_per_sec.avg": digest.callsPerSecond,
              "db.sql_tokenized.stats.sum_timer_wait_per_call.avg": digest.latencyMsPerCall,
              "db.sql_tokenized.stats.sum_rows_examined_per_call.avg": digest.rowsPerCall,
            }
            : {};
          const additional = Object.fromEntries(
            (body.AdditionalMetrics ?? []).filter((n: string) => n in names)
              .map((n: string) => [n, names[n]]),
          );
          return {
            Dimensions: g.dimensions,
            Total: g.weight * span,
            ...(Object.keys(additional).length ? { AdditionalMetrics: additional } : {}),
          };
        });
      }
      keys = keys.slice(0, body.GroupBy?.Limit ?? 10);
      const offset = body.NextToken ? Number(atob(body.NextToken)) : 0;
      const size = body.MaxResults ?? 10;
      const next = offset + size < keys.length ? btoa(String(offset + size)) : undefined;
      return ok({
        AlignedStartTime: first,
        AlignedEndTime: body.EndTime,
        Keys: keys.slice(offset, offset + size),
        ...(next ? { NextToken: next } : {}),
      });
    }
    return jsonError(400, "UnknownOperationException", `Unknown operation ${call.target}`);
  }

  const { url, close } = serveFake(
    async (req) => {
      const raw = new Uint8Array(await req.arrayBuffer());
      const call: PiCall = { target: req.headers.get("x-amz-target"), body: undefined, status: 0 };
      try {
        call.body = JSON.parse(new TextDecoder().decode(raw));
      } catch {
        call.body = undefined;
      }
      calls.push(call);
      const res = await answer(req, raw, call);
      call.status = res?.status ?? 0;
      return res ?? new Response(null, { status: 503 });
    },
    closing,
  );
  return Promise.resolve({
    url,
    calls,
    faults,
    identifiers,
    digestWindows,
    get always() {
      return state.always;
    },
    set always(mode: PiFault) {
      state.always = mode;
    },
    forget() {
      state.forgotten = true;
    },
    close,
    [Symbol.asyncDispose]: close,
  });
}

function ok(payload: unknown): Response {
  return new Response(JSON.stringify(payload), {
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": crypto.randomUUID(),
    },
  });
}

function jsonError(status: number, type: string, message: string): Response {
  return new Response(JSON.stringify({ __type: type, Message: message }), {
    status,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": crypto.randomUUID(),
    },
  });
}
