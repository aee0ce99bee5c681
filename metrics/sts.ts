/**
 * Temporary AWS credentials: STS AssumeRole (signed by aws4fetch with base credentials) and
 * AssumeRoleWithWebIdentity (unsigned, the token is the proof) over the Query protocol
 * (https://docs.aws.amazon.com/STS/latest/APIReference/, version 2011-06-15, XML answers), and the
 * ECS/EKS container credential endpoint (JSON). Every failure is a CloudWatchError naming its
 * service, so it maps to the same problems as CloudWatch's (throttled → 503, else 502/504).
 */
import { AwsClient } from "aws4fetch";
import type { AwsCredentials } from "../config.ts";
import { CloudWatchError, redact } from "./_cloudwatch_error.ts";
import { xmlField } from "./_aws_xml.ts";
import { fetchUpstream, parseRetryAfter, type UpstreamAnswer } from "./aws_http.ts";
import { serviceUrl } from "./aws_call.ts";

/** The regional STS endpoint; `{region}` and the partition's `{dnsSuffix}` are filled per call. */
export const DEFAULT_STS_ENDPOINT = "https://sts.{region}.{dnsSuffix}/";

/** Credentials that end: `expiration` is epoch milliseconds (UTC). */
export interface TemporaryCredentials extends AwsCredentials {
  expiration: number;
}

/** How calls reach AWS; tests inject `fetch` and an endpoint template pointing at a fake. */
export interface StsOptions {
  endpoint?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** One AssumeRole: the role, its optional ExternalId, the session name and its length in s. */
export interface AssumeRoleRequest {
  region: string;
  roleArn: string;
  externalId?: string;
  sessionName: string;
  durationSeconds: number;
}

const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
]);

/** Assumes `req.roleArn` with `base` (SigV4, service `sts`); throws CloudWatchError (service STS). */
export async function assumeRole(
  options: StsOptions,
  base: AwsCredentials,
  req: AssumeRoleRequest,
): Promise<TemporaryCredentials> {
  const url = stsUrl(options, req.region);
  const form = stsForm("AssumeRole", req);
  if (req.externalId) form.set("ExternalId", req.externalId);
  const aws = new AwsClient({ ...base, service: "sts", region: req.region, retries: 0 });
  return await call(
    options,
    "AssumeRole",
    [base.secretAccessKey, base.sessionToken],
    (signal) =>
      aws.sign(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
        body: form.toString(),
        signal,
      }),
  );
}

/** Exchanges an OIDC token for the role's credentials; unsigned, as STS requires. */
export async function assumeRoleWithWebIdentity(
  options: StsOptions,
  req: Omit<AssumeRoleRequest, "externalId"> & { token: string },
): Promise<TemporaryCredentials> {
  const url = stsUrl(options, req.region);
  const form = stsForm("AssumeRoleWithWebIdentity", req);
  form.set("WebIdentityToken", req.token);
  return await call(options, "AssumeRoleWithWebIdentity", [req.token], (signal) =>
    Promise.resolve(
      new Request(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
        body: form.toString(),
        signal,
      }),
    ));
}

/**
 * Reads the container credential endpoint (ECS task role, EKS Pod Identity): GET with the
 * authorization token, answered with JSON AccessKeyId, SecretAccessKey, Token, Expiration.
 */
export async function fetchContainerCredentials(
  options: Omit<StsOptions, "endpoint">,
  url: string,
  authorization: string | undefined,
): Promise<TemporaryCredentials> {
  const service = "container credentials";
  const answer = await send(options, service, [authorization], (signal) =>
    Promise.resolve(
      new Request(url, {
        headers: authorization ? { Authorization: authorization } : {},
        signal,
      }),
    ));
  if (answer.status !== 200) {
    throw upstreamError(service, answer, undefined, `answered HTTP ${answer.status}`);
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(answer.text);
  } catch {
    // Checked below: a body without the fields is refused the same way.
  }
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = body ?? {};
  const expiration = typeof Expiration === "string" ? Date.parse(Expiration) : NaN;
  if (
    typeof AccessKeyId !== "string" || typeof SecretAccessKey !== "string" ||
    (Token !== undefined && typeof Token !== "string") || Number.isNaN(expiration)
  ) {
    throw new CloudWatchError({
      service,
      kind: "bad_answer",
      status: answer.status,
      message: `The ${service} endpoint answered without AccessKeyId, SecretAccessKey, Expiration`,
    });
  }
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: Token as string | undefined,
    expiration,
  };
}

function stsUrl(options: StsOptions, region: string): string {
  return serviceUrl("STS", "sts", options.endpoint ?? DEFAULT_STS_ENDPOINT, region);
}

/** The Query form both AssumeRole actions share. */
function stsForm(
  action: string,
  req: Pick<AssumeRoleRequest, "roleArn" | "sessionName" | "durationSeconds">,
): URLSearchParams {
  return new URLSearchParams({
    Action: action,
    Version: "2011-06-15",
    RoleArn: req.roleArn,
    RoleSessionName: req.sessionName,
    DurationSeconds: String(req.durationSeconds),
  });
}

/** One STS Query call, its XML answer read into credentials or a classified error. */
async function call(
  options: StsOptions,
  action: string,
  secrets: Array<string | undefined>,
  build: (signal: AbortSignal) => Promise<Request>,
): Promise<TemporaryCredentials> {
  const answer = await send(options, "STS", secrets, build);
  const { status, text } = answer;
  if (status !== 200) {
    const code = xmlField(text, "Code");
    const message = xmlField(text, "Message") ?? `${action} answered HTTP ${status}`;
    throw upstreamError("STS", answer, code, redact(`${action}: ${message}`, secrets));
  }
  const block = /<Credentials>([\s\S]*?)<\/Credentials>/.exec(text)?.[1] ?? "";
  const accessKeyId = xmlField(block, "AccessKeyId");
  const secretAccessKey = xmlField(block, "SecretAccessKey");
  const sessionToken = xmlField(block, "SessionToken");
  const expiration = Date.parse(xmlField(block, "Expiration") ?? "");
  if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiration)) {
    throw new CloudWatchError({
      service: "STS",
      kind: "bad_answer",
      status,
      message: `${action} answered without credentials`,
    });
  }
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

/** Sends with a timeout, no redirects and a size cap; network trouble becomes a CloudWatchError. */
async function send(
  options: Omit<StsOptions, "endpoint">,
  service: string,
  secrets: Array<string | undefined>,
  build: (signal: AbortSignal) => Promise<Request>,
): Promise<UpstreamAnswer & { ok: true }> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let answer: UpstreamAnswer;
  try {
    const request = await build(AbortSignal.timeout(timeoutMs));
    answer = await fetchUpstream(request, { service, fetch: options.fetch, maxBytes: 1 << 20 });
  } catch (err) {
    const name = err instanceof Error || err instanceof DOMException ? err.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      throw new CloudWatchError({
        service,
        kind: "timeout",
        message: `${service} did not answer within ${timeoutMs} ms`,
      });
    }
    const detail = redact(err instanceof Error ? err.message : String(err), secrets);
    throw new CloudWatchError({
      service,
      kind: "bad_answer",
      message: `Could not reach ${service}: ${detail}`,
    });
  }
  if (!answer.ok) {
    throw new CloudWatchError({
      service,
      kind: "bad_answer",
      status: answer.status,
      message: answer.message,
    });
  }
  return answer;
}

function upstreamError(
  service: string,
  answer: { status: number; headers: Headers },
  code: string | undefined,
  message: string,
): CloudWatchError {
  const throttled = answer.status === 429 || (code !== undefined && THROTTLING_CODES.has(code));
  return new CloudWatchError({
    service,
    kind: throttled ? "throttled" : "bad_answer",
    status: answer.status,
    code,
    message,
    requestId: answer.headers.get("x-amzn-requestid") ?? undefined,
    retryAfterSeconds: throttled
      ? parseRetryAfter(answer.headers.get("retry-after"), Date.now()) ?? 1
      : undefined,
  });
}
