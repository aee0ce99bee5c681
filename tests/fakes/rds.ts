/**
 * A fake RDS Query endpoint for tests and the demo: a real HTTP server on 127.0.0.1 that checks
 * every SigV4 signature (service `rds`) with the independent signer, answers DescribeDBInstances
 * with XML for the instances it knows, DBInstanceNotFound (404) for others, and injects faults.
 */
import { type FakeCredential, verifySigV4 } from "./_sigv4.ts";
import { TEST_CREDENTIALS } from "./cloudwatch.ts";
import { serveFake } from "./_server.ts";

/** One instance the fake knows. */
export interface FakeInstance {
  dbiResourceId: string;
  status: string;
  engine: string;
  piEnabled: boolean;
  piRetentionDays: number;
}

/** What the fake does with one request. */
export type RdsFault = "ok" | "throttle" | "http500" | "hang" | "garbage";

/** The running fake. */
export interface FakeRds extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`, usable as RDS_ENDPOINT. */
  url: string;
  instances: Map<string, FakeInstance>;
  /** Modes for the next requests, one shifted per request; "ok" once empty. */
  faults: RdsFault[];
  /** Every fault from now on (after the `faults` queue), e.g. "throttle" for a lasting outage. */
  always: RdsFault;
  calls: Array<{ action: string | null; identifier: string | null; status: number }>;
  close(): Promise<void>;
}

/** The demo's and tests' instance: MySQL with Performance Insights on, 7 days. */
export const FAKE_INSTANCE_ID = "prod-mysql-1";
export const FAKE_DBI_RESOURCE_ID = "db-ABCDEFGHIJKLMNOPQRSTU1VW2X";

/** Starts the fake on a random local port with FAKE_INSTANCE_ID known. */
export function startFakeRds(
  options: { credentials?: FakeCredential[]; now?: () => Date } = {},
): Promise<FakeRds> {
  const credentials = options.credentials ?? [TEST_CREDENTIALS];
  const now = options.now ?? (() => new Date());
  const instances = new Map<string, FakeInstance>([[FAKE_INSTANCE_ID, {
    dbiResourceId: FAKE_DBI_RESOURCE_ID,
    status: "available",
    engine: "mysql",
    piEnabled: true,
    piRetentionDays: 7,
  }]]);
  const faults: RdsFault[] = [];
  const calls: FakeRds["calls"] = [];
  const closing = new AbortController();
  const state = { always: "ok" as RdsFault };

  async function handle(req: Request): Promise<Response | null> {
    const raw = new Uint8Array(await req.arrayBuffer());
    const form = new URLSearchParams(new TextDecoder().decode(raw));
    const call = {
      action: form.get("Action"),
      identifier: form.get("DBInstanceIdentifier"),
      status: 0,
    };
    calls.push(call);
    const res = await answer(req, raw, form);
    call.status = res?.status ?? 0;
    return res;
  }

  async function answer(
    req: Request,
    raw: Uint8Array,
    form: URLSearchParams,
  ): Promise<Response | null> {
    const auth = await verifySigV4(req, raw, credentials, now(), "rds");
    if (!auth.ok) return xmlError(auth.status, auth.code, auth.message);
    const mode = faults.shift() ?? state.always;
    switch (mode) {
      case "throttle":
        return xmlError(400, "Throttling", "Rate exceeded");
      case "http500":
        return xmlError(500, "InternalFailure", "Internal failure", "Receiver");
      case "garbage":
        return new Response("<html>not xml", { headers: { "content-type": "text/xml" } });
      case "hang":
        return await new Promise((resolve) => {
          if (closing.signal.aborted) resolve(null);
          closing.signal.addEventListener("abort", () => resolve(null), { once: true });
        });
    }
    if (form.get("Action") !== "DescribeDBInstances" || form.get("Version") !== "2014-10-31") {
      return xmlError(400, "InvalidAction", "Only DescribeDBInstances 2014-10-31 is served");
    }
    const id = form.get("DBInstanceIdentifier") ?? "";
    const instance = instances.get(id);
    if (!instance) return xmlError(404, "DBInstanceNotFound", `DBInstance ${id} not found.`);
    const pi = instance.piEnabled
      ? `<PerformanceInsightsEnabled>true</PerformanceInsightsEnabled>` +
        `<PerformanceInsightsRetentionPeriod>${instance.piRetentionDays}</PerformanceInsightsRetentionPeriod>`
      : `<PerformanceInsightsEnabled>false</PerformanceInsightsEnabled>`;
    const body = `<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">` +
      `<DescribeDBInstancesResult><DBInstances><DBInstance>` +
      `<DBInstanceIdentifier>${id}</DBInstanceIdentifier>` +
      `<DBInstanceStatus>${instance.status}</DBInstanceStatus>` +
      `<Engine>${instance.engine}</Engine>` +
      `<DbiResourceId>${instance.dbiResourceId}</DbiResourceId>${pi}` +
      `</DBInstance></DBInstances></DescribeDBInstancesResult>` +
      `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>` +
      `</DescribeDBInstancesResponse>`;
    return new Response(body, { headers: { "content-type": "text/xml" } });
  }

  const { url, close } = serveFake(
    async (req) => (await handle(req)) ?? new Response(null, { status: 503 }),
    closing,
  );
  return Promise.resolve({
    url,
    instances,
    faults,
    get always() {
      return state.always;
    },
    set always(mode: RdsFault) {
      state.always = mode;
    },
    calls,
    close,
    [Symbol.asyncDispose]: close,
  });
}

function xmlError(
  status: number,
  code: string,
  message: string,
  type: "Sender" | "Receiver" = "Sender",
): Response {
  const body = `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error>` +
    `<Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
    `<RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`;
  return new Response(body, { status, headers: { "content-type": "text/xml" } });
}
