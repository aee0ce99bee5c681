/**
 * A fake STS and a fake container credential endpoint: real HTTP servers. STS checks AssumeRole's
 * SigV4 signature (service `sts`) with the independent verifier and AssumeRoleWithWebIdentity's
 * token; both issue temporary credentials into `issued`, the list the fake CloudWatch is given,
 * so CloudWatch accepts exactly what was issued (session token included).
 */
import { type FakeCredential, verifySigV4 } from "./_sigv4.ts";
import { serveFake } from "./_server.ts";

/** A role the fake lets be assumed; with `externalId`, only by callers that send it. */
export interface FakeRole {
  arn: string;
  externalId?: string;
}

/** What the fake does with one request. */
export type StsFault = "ok" | "accessDenied" | "throttle" | "http500";

/** One call to the fake STS, for assertions. */
export interface StsCall {
  action: string | null;
  params: Record<string, string>;
  authorization: string | null;
  /** The signer's key id when signed and verified. */
  accessKeyId?: string;
  status: number;
  /** The access key id handed out, when the call succeeded. */
  issuedKeyId?: string;
}

/** The running fake STS. */
export interface FakeSts extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`, usable as AWS_STS_ENDPOINT. */
  url: string;
  calls: StsCall[];
  faults: StsFault[];
  /** Every credential issued so far, with its expiry (epoch ms). */
  issued: Array<FakeCredential & { expiration: number }>;
  /** Web identity tokens the fake accepts, per role ARN. */
  webTokens: Map<string, string>;
}

const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Starts the fake STS on a random local port; `accept` is where issued credentials are pushed. */
export function startFakeSts(options: {
  /** Base credentials AssumeRole may be signed with. */
  base: FakeCredential[];
  roles: FakeRole[];
  /** The list the fake CloudWatch verifies against; issued credentials are added to it. */
  accept: FakeCredential[];
  /** The clock expirations are computed from (the test's clock). */
  now: () => Date;
  /** Milliseconds every answer waits, so concurrent callers overlap in flight. */
  latencyMs?: number;
}): FakeSts {
  const calls: StsCall[] = [];
  const faults: StsFault[] = [];
  const issued: FakeSts["issued"] = [];
  const webTokens = new Map<string, string>();
  let serial = 0;

  const issue = (durationSeconds: number) => {
    serial++;
    const credential = {
      accessKeyId: `ASIAFAKESTS${String(serial).padStart(9, "0")}`,
      secretAccessKey: `fake-sts-secret-${serial}-${crypto.randomUUID()}`,
      sessionToken: `fake-sts-session-${serial}-${crypto.randomUUID()}`,
      expiration: options.now().getTime() + durationSeconds * 1000,
    };
    issued.push(credential);
    options.accept.push(credential);
    return credential;
  };

  async function handle(req: Request): Promise<Response> {
    const raw = new Uint8Array(await req.arrayBuffer());
    const params = Object.fromEntries(new URLSearchParams(new TextDecoder().decode(raw)));
    const call: StsCall = {
      action: params.Action ?? null,
      params,
      authorization: req.headers.get("authorization"),
      status: 0,
    };
    calls.push(call);
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const res = await answer(req, raw, params, call);
    call.status = res.status;
    return res;
  }

  async function answer(
    req: Request,
    raw: Uint8Array,
    params: Record<string, string>,
    call: StsCall,
  ): Promise<Response> {
    if (req.method !== "POST" || params.Version !== "2011-06-15") {
      return error(400, "InvalidAction", "Only POST Version=2011-06-15 is served");
    }
    const fault = faults.shift() ?? "ok";
    if (params.Action === "AssumeRole") {
      // Signatures are dated by the wall clock; only expirations follow the test's clock.
      const auth = await verifySigV4(req, raw, options.base, new Date(), "sts");
      if (!auth.ok) return error(auth.status, auth.code, auth.message);
      call.accessKeyId = auth.accessKeyId;
    } else if (params.Action === "AssumeRoleWithWebIdentity") {
      if (call.authorization !== null) {
        return error(400, "InvalidParameterValue", "AssumeRoleWithWebIdentity is not signed");
      }
      const expected = webTokens.get(params.RoleArn ?? "");
      if (!expected || params.WebIdentityToken !== expected) {
        return error(400, "InvalidIdentityToken", "The web identity token is not valid");
      }
    } else {
      return error(400, "InvalidAction", `Unknown action ${params.Action}`);
    }
    if (fault === "throttle") return error(400, "Throttling", "Rate exceeded");
    if (fault === "http500") return error(500, "InternalFailure", "STS had a problem");
    const role = options.roles.find((r) => r.arn === params.RoleArn);
    if (
      fault === "accessDenied" || !role ||
      // As in AWS: a trust policy without an sts:ExternalId condition ignores one sent.
      (params.Action === "AssumeRole" && role.externalId !== undefined &&
        role.externalId !== params.ExternalId)
    ) {
      return error(
        403,
        "AccessDenied",
        `User: ${call.accessKeyId ?? "web identity"} is not authorized to perform: ` +
          `sts:${params.Action} on resource: ${params.RoleArn}`,
      );
    }
    const seconds = Number(params.DurationSeconds ?? 3600);
    if (!/^[\w+=,.@-]{2,64}$/.test(params.RoleSessionName ?? "") || !(seconds >= 900)) {
      return error(400, "ValidationError", "RoleSessionName or DurationSeconds is invalid");
    }
    const credential = issue(seconds);
    call.issuedKeyId = credential.accessKeyId;
    const action = params.Action;
    return new Response(
      `<${action}Response xmlns="${XMLNS}"><${action}Result><Credentials>` +
        `<AccessKeyId>${credential.accessKeyId}</AccessKeyId>` +
        `<SecretAccessKey>${credential.secretAccessKey}</SecretAccessKey>` +
        `<SessionToken>${credential.sessionToken}</SessionToken>` +
        `<Expiration>${new Date(credential.expiration).toISOString()}</Expiration>` +
        `</Credentials></${action}Result>` +
        `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>` +
        `</${action}Response>`,
      { headers: { "Content-Type": "text/xml" } },
    );
  }

  const server = serveFake(handle);
  return {
    url: server.url,
    calls,
    faults,
    issued,
    webTokens,
    [Symbol.asyncDispose]: server.close,
  };
}

/** The running fake container credential endpoint (ECS task role / EKS Pod Identity). */
export interface FakeContainerCredentials extends AsyncDisposable {
  /** The full URI to set as AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  url: string;
  /** The Authorization header each request carried. */
  authorizations: Array<string | null>;
  /** The token the endpoint accepts; tests change it to rotate. */
  token: string;
  issued: Array<FakeCredential & { expiration: number }>;
}

/** Starts a fake container credential endpoint that checks Authorization against `token`. */
export function startFakeContainerCredentials(options: {
  token: string;
  accept: FakeCredential[];
  now: () => Date;
  lifetimeMs?: number;
}): FakeContainerCredentials {
  const authorizations: Array<string | null> = [];
  const issued: FakeContainerCredentials["issued"] = [];
  const state = { token: options.token };
  const server = serveFake((req) => {
    const authorization = req.headers.get("authorization");
    authorizations.push(authorization);
    if (new URL(req.url).pathname !== "/v2/credentials" || req.method !== "GET") {
      return Response.json({ message: "not found" }, { status: 404 });
    }
    if (authorization !== state.token) {
      return Response.json({ message: "Authorization token is not valid" }, { status: 401 });
    }
    const n = issued.length + 1;
    const credential = {
      accessKeyId: `ASIAFAKECONTAINER${String(n).padStart(3, "0")}`,
      secretAccessKey: `fake-container-secret-${n}-${crypto.randomUUID()}`,
      sessionToken: `fake-container-session-${n}-${crypto.randomUUID()}`,
      expiration: options.now().getTime() + (options.lifetimeMs ?? 6 * 3600_000),
    };
    issued.push(credential);
    options.accept.push(credential);
    return Response.json({
      AccessKeyId: credential.accessKeyId,
      SecretAccessKey: credential.secretAccessKey,
      Token: credential.sessionToken,
      Expiration: new Date(credential.expiration).toISOString(),
      RoleArn: "arn:aws:iam::123456789012:role/task",
    });
  });
  return {
    url: `${server.url}v2/credentials`,
    authorizations,
    get token() {
      return state.token;
    },
    set token(value: string) {
      state.token = value;
    },
    issued,
    [Symbol.asyncDispose]: server.close,
  };
}

function error(status: number, code: string, message: string): Response {
  return new Response(
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${message.replaceAll("&", "&amp;").replaceAll("<", "&lt;")}</Message></Error>` +
      `<RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`,
    { status, headers: { "Content-Type": "text/xml" } },
  );
}
