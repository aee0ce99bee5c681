/**
 * A fake CloudWatch for tests and the demo: a real HTTP server speaking AWS JSON 1.0 that checks
 * every SigV4 signature, answers GetMetricData with deterministic data and injects faults.
 */
import { type FakeCredential, verifySigV4 } from "./_sigv4.ts";
import {
  answerPage,
  FakeAwsError,
  type FakeStore,
  type FixedPoints,
  parseRequest,
  seriesKey,
  type WireResult,
} from "./_metric_data.ts";
import { serveFake } from "./_server.ts";

export { generatedValue } from "./_metric_data.ts";
export type { FakeCredential } from "./_sigv4.ts";

/** What the fake does with one request. */
export type FaultMode =
  | "ok"
  | "throttle"
  | "http429"
  | "http500"
  | "http503"
  | "html502"
  | "hang"
  | "malformed"
  | "partial"
  | "internalErrorResult"
  | "forbiddenResult"
  | "accessDenied"
  | "echoSecrets"
  | "expTimestamps"
  | "nanValues"
  | "descendingUnsorted"
  | "redirect302"
  | "redirect307"
  | "hugeBody"
  /** A 200 with 300,000 Messages at the top level. */
  | "manyMessages"
  /** A 200 whose every series adds 100,000 points a year past the window; pages never end. */
  | "farPoints"
  | "hugeDeclared";

/** One request the fake received, for assertions. `status` 0 means it was never answered. */
export interface FakeCall {
  target: string | null;
  /** The Authorization header as received, so tests can look for its signature elsewhere. */
  authorization: string | null;
  accessKeyId?: string;
  region?: string;
  status: number;
  mode: FaultMode;
  // deno-lint-ignore no-explicit-any -- tests read arbitrary fields of the request body
  body: any;
  signedHeaders: string[];
}

/** The running fake. */
export interface FakeCloudWatch extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`, usable as the client's endpoint. */
  url: string;
  calls: FakeCall[];
  /** Modes for the next requests, one shifted per request; "ok" once empty. */
  faults: FaultMode[];
  /** Fixes a series to these points instead of generated values. */
  setSeries(metric: string, dbId: string, points: FixedPoints): void;
  /** From now on no datapoints are returned, as after CloudWatch's retention. */
  dropData(): void;
  /** Where the redirect modes point (their `Location`). */
  redirectTo: string;
  /** A `Retry-After` header value the throttle, http429 and http503 modes send, when set. */
  retryAfter: string | null;
  /** Bytes the hugeBody and hugeDeclared modes actually handed to the connection. */
  hugeBytesSent: number;
  close(): Promise<void>;
}

/** The credentials the fake knows unless told otherwise (AWS's documentation example keys). */
export const TEST_CREDENTIALS: FakeCredential = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

/** capwatch's environment variables for the fake as CloudWatch, with server-wide credentials. */
export const fakeCloudWatchEnv = (fake: { url: string }) => ({
  CLOUDWATCH_ENDPOINT: fake.url,
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
});

const TARGET_PREFIX = "GraniteServiceVersion20100801.";
const JSON_TYPE = "application/x-amz-json-1.0";

/** Starts the fake on a random local port. */
export function startFakeCloudWatch(
  options: {
    credentials?: FakeCredential[];
    pageSize?: number;
    /** The clock signatures are checked against. */
    now?: () => Date;
    /** The clock the data's age is measured on (StartTime rounding); unset, all data is recent. */
    dataNow?: () => Date;
    /** Milliseconds every answer waits, so callers that race overlap in flight. */
    latencyMs?: number;
  } = {},
): Promise<FakeCloudWatch> {
  const credentials = options.credentials ?? [TEST_CREDENTIALS];
  const now = options.now ?? (() => new Date());
  const pageSize = options.pageSize ?? 100_800;
  const store: FakeStore = { fixed: new Map(), dropped: false, dataNow: options.dataNow };
  const calls: FakeCall[] = [];
  const faults: FaultMode[] = [];
  // Hung requests wait on this; close() fires it so shutdown does not wait forever.
  const closing = new AbortController();
  const state = { redirectTo: "http://127.0.0.1:9/", retryAfter: null as string | null, sent: 0 };

  async function handle(req: Request): Promise<Response> {
    const mode = faults.shift() ?? "ok";
    const call: FakeCall = {
      target: req.headers.get("x-amz-target"),
      authorization: req.headers.get("authorization"),
      status: 0,
      mode,
      body: undefined,
      signedHeaders: [],
    };
    calls.push(call);
    const raw = new Uint8Array(await req.arrayBuffer());
    try {
      call.body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      call.body = new TextDecoder().decode(raw);
    }
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const res = await answer(req, raw, call);
    if (res) call.status = res.status;
    return res ?? new Response(null, { status: 503 });
  }

  async function answer(req: Request, raw: Uint8Array, call: FakeCall): Promise<Response | null> {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/") {
      return awsError(
        404,
        "com.amazon.coral.service#UnknownOperationException",
        "UnknownOperation",
        "Only POST / is served",
      );
    }
    const contentType = (req.headers.get("content-type") ?? "").toLowerCase();
    if (!contentType.startsWith(JSON_TYPE)) {
      return awsError(
        400,
        "com.amazon.coral.service#SerializationException",
        "SerializationException",
        `Content-Type must be ${JSON_TYPE}`,
      );
    }
    const auth = await verifySigV4(req, raw, credentials, now());
    call.accessKeyId = auth.accessKeyId;
    call.region = auth.region;
    call.signedHeaders = auth.signedHeaders;
    if (!auth.ok) {
      return awsError(
        auth.status,
        `com.amazon.coral.service#${auth.type}`,
        auth.code,
        auth.message,
      );
    }
    if (call.target !== `${TARGET_PREFIX}GetMetricData`) {
      return awsError(
        400,
        "com.amazon.coral.service#UnknownOperationException",
        "UnknownOperationException",
        `Unknown operation ${call.target ?? "(no X-Amz-Target)"}`,
      );
    }
    const fault = faultAnswer(call.mode, req, call);
    if (fault !== undefined) return await fault;
    if (!call.body || typeof call.body !== "object") {
      return awsError(
        400,
        "com.amazon.coral.service#SerializationException",
        "SerializationException",
        "The body is not a JSON object",
      );
    }
    try {
      const parsed = await parseRequest(call.body);
      const page = answerPage(parsed, store, parsed.maxDatapoints ?? pageSize);
      // farPoints answers every page as (nearly) the first, with a token back to it, so pages never end.
      const nextToken = call.mode === "farPoints"
        ? btoa(JSON.stringify({ offset: 1, fingerprint: parsed.fingerprint }))
        : page.nextToken;
      return success(page.results, nextToken, call.mode);
    } catch (err) {
      if (!(err instanceof FakeAwsError)) throw err;
      return awsError(err.status, `com.amazonaws.cloudwatch#${err.type}`, err.code, err.message);
    }
  }

  function faultAnswer(
    mode: FaultMode,
    req: Request,
    call: FakeCall,
  ): Promise<Response | null> | Response | undefined {
    const later = (res: Response) => {
      if (state.retryAfter !== null) res.headers.set("retry-after", state.retryAfter);
      return res;
    };
    switch (mode) {
      case "throttle":
        return later(awsError(
          400,
          "com.amazon.coral.availability#ThrottlingException",
          "Throttling",
          "Rate exceeded",
        ));
      case "http429":
        return later(awsError(
          429,
          "com.amazon.coral.availability#ThrottlingException",
          "Throttling",
          "Rate exceeded",
        ));
      case "http500":
        return awsError(
          500,
          "com.amazonaws.cloudwatch#InternalServiceFault",
          "InternalServiceError",
          "Internal service error",
          "Receiver",
        );
      case "http503":
        return later(awsError(
          503,
          "com.amazon.coral.service#ServiceUnavailableException",
          "ServiceUnavailable",
          "Service unavailable",
          "Receiver",
        ));
      case "redirect302":
      case "redirect307":
        return new Response(null, {
          status: mode === "redirect302" ? 302 : 307,
          headers: { location: state.redirectTo },
        });
      case "hugeBody":
        return hugeAnswer(false);
      case "hugeDeclared":
        return hugeAnswer(true);
      case "html502":
        return new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", {
          status: 502,
          headers: { "content-type": "text/html" },
        });
      case "accessDenied":
        return awsError(
          403,
          "com.amazon.coral.service#AccessDeniedException",
          "AccessDenied",
          "User: arn:aws:iam::123456789012:user/capwatch is not authorized to perform: cloudwatch:GetMetricData because no identity-based policy allows the cloudwatch:GetMetricData action",
        );
      case "echoSecrets": {
        // The worst case of AWS quoting a request back: every secret the call carried or used.
        const known = credentials.find((c) => c.accessKeyId === call.accessKeyId);
        return awsError(
          403,
          "com.amazon.coral.service#AccessDeniedException",
          "AccessDenied",
          `Denied request with Authorization: ${req.headers.get("authorization")}, ` +
            `X-Amz-Security-Token: ${req.headers.get("x-amz-security-token")}, ` +
            `signed with secret ${known?.secretAccessKey}`,
        );
      }
      case "malformed":
        return new Response('{"MetricDataResults":[{"Id":"cpu_utilization","Timestamps":[17', {
          headers: { "content-type": JSON_TYPE },
        });
      case "hang":
        // Held until close(), which must release it or shutdown would wait forever.
        return new Promise((resolve) => {
          if (closing.signal.aborted) resolve(null);
          closing.signal.addEventListener("abort", () => resolve(null), { once: true });
        });
      default:
        return undefined;
    }
  }

  /**
   * A 200 whose JSON body never ends (up to 400 MiB) in 1 MiB chunks, produced only as the
   * client reads; `declared` also states that size in Content-Length up front.
   */
  function hugeAnswer(declared: boolean): Response {
    const chunk = new TextEncoder().encode(" ".repeat(1024 * 1024));
    const total = 400;
    let produced = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"MetricDataResults":[]'));
      },
      pull(controller) {
        if (produced === total) return controller.close();
        produced++;
        state.sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }, { highWaterMark: 1 });
    const headers: Record<string, string> = { "content-type": JSON_TYPE };
    if (declared) headers["content-length"] = String(23 + total * chunk.byteLength);
    return new Response(body, { headers });
  }

  function success(results: WireResult[], nextToken: string | undefined, mode: FaultMode) {
    const payload: Record<string, unknown> = { MetricDataResults: results, Messages: [] };
    if (mode === "partial" || mode === "internalErrorResult") {
      for (const r of results) r.StatusCode = mode === "partial" ? "PartialData" : "InternalError";
      if (mode === "internalErrorResult") {
        for (const r of results) {
          r.Messages = [{ Code: "InternalError", Value: "An internal error occurred" }];
        }
      }
    } else if (nextToken) {
      payload.NextToken = nextToken;
    }
    if (mode === "manyMessages") {
      payload.Messages = Array.from({ length: 300_000 }, (_, i) => ({ Code: "C", Value: `m${i}` }));
    }
    if (mode === "farPoints") {
      const yearLater = Math.floor(Date.now() / 1000) + 365 * 86_400;
      for (const r of results) {
        for (let i = 0; i < 100_000; i++) {
          r.Timestamps.push(yearLater + i);
          r.Values.push(i);
        }
      }
    }
    if (mode === "forbiddenResult") {
      for (const r of results) {
        Object.assign(r, { Timestamps: [], Values: [], StatusCode: "Forbidden" });
        r.Messages = [{
          Code: "Forbidden",
          Value: "Authentication too complex to retrieve cross region data",
        }];
      }
    }
    if (mode === "nanValues") {
      for (const r of results) {
        (r.Values as Array<number | string>) = r.Values.map((v, i) =>
          i % 3 === 1 ? (i % 2 ? "NaN" : "Infinity") : v
        );
      }
    }
    if (mode === "descendingUnsorted") {
      for (const r of results) {
        const order = r.Timestamps.map((_, i) => i).sort((a, b) =>
          (a * 7919) % 13 - (b * 7919) % 13
        );
        r.Timestamps = order.map((i) => r.Timestamps[i]);
        r.Values = order.map((i) => r.Values[i]);
      }
    }
    let text = JSON.stringify(payload);
    if (mode === "expTimestamps") {
      // Some Java-based AWS JSON services write doubles in exponent form; JSON allows it.
      text = text.replace(
        /"Timestamps":\[([^\]]*)\]/g,
        (_, list: string) =>
          `"Timestamps":[${
            list
              ? list.split(",").map((n) => Number(n).toExponential().replace("e+", "E")).join(",")
              : ""
          }]`,
      );
    }
    return new Response(text, {
      headers: { "content-type": JSON_TYPE, "x-amzn-requestid": crypto.randomUUID() },
    });
  }

  const { url, close } = serveFake(
    async (req) => {
      try {
        return await handle(req);
      } catch (err) {
        return awsError(
          500,
          "com.amazon.coral.service#InternalFailure",
          "InternalFailure",
          `Fake CloudWatch failed: ${err}`,
          "Receiver",
        );
      }
    },
    closing,
  );
  return Promise.resolve({
    url,
    calls,
    faults,
    setSeries(metric, dbId, points) {
      store.fixed.set(seriesKey(metric, dbId), [...points].sort(([a], [b]) => a - b));
    },
    dropData() {
      store.dropped = true;
    },
    get redirectTo() {
      return state.redirectTo;
    },
    set redirectTo(url: string) {
      state.redirectTo = url;
    },
    get retryAfter() {
      return state.retryAfter;
    },
    set retryAfter(value: string | null) {
      state.retryAfter = value;
    },
    get hugeBytesSent() {
      return state.sent;
    },
    close,
    [Symbol.asyncDispose]: close,
  });
}

function awsError(
  status: number,
  type: string,
  code: string,
  message: string,
  fault: "Sender" | "Receiver" = "Sender",
): Response {
  return new Response(JSON.stringify({ __type: type, message }), {
    status,
    headers: {
      "content-type": JSON_TYPE,
      "x-amzn-query-error": `${code};${fault}`,
      "x-amzn-requestid": crypto.randomUUID(),
    },
  });
}
