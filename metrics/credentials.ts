import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { AwsCredentials } from "../config.ts";
import type { AwsIdentityConfig } from "../config_aws.ts";
import type { EnvironmentRow } from "../db/schema.ts";
import type { Logger } from "../logger.ts";
import { CloudWatchError } from "./_cloudwatch_error.ts";
import {
  assumeRole,
  assumeRoleWithWebIdentity,
  fetchContainerCredentials,
  type TemporaryCredentials,
} from "./sts.ts";

/** Where an environment's CloudWatch credentials come from, as `credentials.source` says. */
export type CredentialSource =
  | "environment"
  | "role"
  | "server"
  | "web-identity"
  | "container";

/** Usable credentials; a setup problem (409, `message`); or an upstream failure getting them. */
export type ResolvedCredentials =
  | { ok: true; source: CredentialSource; credentials: AwsCredentials }
  | { ok: false; message: string; error?: undefined }
  | { ok: false; error: CloudWatchError; message?: undefined };

/** Resolves the credentials for each environment; one per process, shared by requests and sweeps. */
export interface CredentialProvider {
  resolve(env: EnvironmentRow): Promise<ResolvedCredentials>;
  /** Where server-wide credentials come from, or "none". */
  readonly serverSource: "server" | "web-identity" | "container" | "none";
}

/** Temporary credentials are renewed this long (ms) before they expire. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** Session length asked of STS, in s: one hour, the default most roles allow. */
export const SESSION_SECONDS = 3600;

/** What the provider needs: the server's keys and identity settings, the cipher, a clock. */
export interface CredentialProviderOptions {
  serverCredentials?: AwsCredentials;
  identity?: AwsIdentityConfig;
  cipher?: CredentialsCipher;
  /** Wall clock (UTC) that expirations are compared with. */
  clock?: () => Date;
  fetch?: typeof fetch;
  readTextFile?: (path: string) => Promise<string>;
  /** Where an unreadable token file's path and error go (the API answer names only the variable). */
  logger?: Pick<Logger, "error">;
}

/**
 * The credential chain: an environment's role (assumed with the server's credentials), else its
 * own stored keys, else the server's: static keys, then web identity, then container credentials
 * (the AWS SDKs' order). Temporary credentials are cached until REFRESH_MARGIN_MS before they
 * expire; callers that ask at once share one upstream call; a failure is not kept.
 */
export function createCredentialProvider(options: CredentialProviderOptions): CredentialProvider {
  const clock = options.clock ?? (() => new Date());
  const readFile = options.readTextFile ?? ((path: string) => Deno.readTextFile(path));
  // Any read failure (missing, a directory, no permission, empty) is the operator's to fix.
  const readToken = (variable: string, path: string) =>
    readFile(path).then(
      (text) => {
        const token = text.trim();
        if (token === "") throw new TokenFileError(variable, path, new Error("the file is empty"));
        return token;
      },
      (error) => {
        throw new TokenFileError(variable, path, error);
      },
    );
  const failure = (error: unknown): ResolvedCredentials => {
    if (!(error instanceof TokenFileError)) return upstreamFailure(error);
    options.logger?.error("cannot read an AWS token file", {
      variable: error.variable,
      path: error.path,
      error: error.cause instanceof Error ? error.cause.message : String(error.cause),
    });
    return {
      ok: false,
      error: new CloudWatchError({
        service: "server configuration",
        kind: "misconfigured",
        // The path stays in the server log: API users need not know the server's file layout.
        message: `the file ${error.variable} names cannot be read, so capwatch cannot get AWS ` +
          "credentials; the operator must fix it (the server log says why)",
      }),
    };
  };
  const sts = { endpoint: options.identity?.stsEndpoint, fetch: options.fetch };
  const web = options.identity?.webIdentity;
  const container = options.identity?.container;

  const serverSource = options.serverCredentials
    ? "server" as const
    : web
    ? "web-identity" as const
    : container
    ? "container" as const
    : "none" as const;

  const server: Cached | undefined = serverSource === "web-identity"
    ? cached(clock, async () =>
      assumeRoleWithWebIdentity(sts, {
        region: web!.region,
        roleArn: web!.roleArn,
        sessionName: web!.sessionName,
        durationSeconds: SESSION_SECONDS,
        // Re-read every time: Kubernetes and Deploy rotate the file's token.
        token: await readToken("AWS_WEB_IDENTITY_TOKEN_FILE", web!.tokenFile),
      }))
    : serverSource === "container"
    ? cached(clock, async () => {
      const token = container!.tokenFile
        ? await readToken("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", container!.tokenFile)
        : container!.token;
      return await fetchContainerCredentials(sts, container!.url, token);
    })
    : undefined;

  const baseCredentials = async (): Promise<AwsCredentials | undefined> =>
    options.serverCredentials ?? await server?.get();

  const roles = new Map<string, Cached>();
  const roleFor = (env: EnvironmentRow & { roleArn: string }): Cached => {
    const key = JSON.stringify([env.id, env.roleArn, env.externalId, env.region]);
    let entry = roles.get(key);
    if (!entry) {
      // A role changed by PATCH leaves its old entry behind; drop the ones past their time.
      for (const [k, v] of roles) if (v.expired()) roles.delete(k);
      entry = cached(clock, async () => {
        const base = await baseCredentials();
        if (!base) throw new NoBaseCredentials();
        return await assumeRole(sts, base, {
          region: env.region,
          roleArn: env.roleArn,
          externalId: env.externalId ?? undefined,
          sessionName: `capwatch-env-${env.id}`,
          durationSeconds: SESSION_SECONDS,
        });
      });
      roles.set(key, entry);
    }
    return entry;
  };

  return {
    serverSource,
    async resolve(env) {
      if (env.roleArn) {
        try {
          const credentials = await roleFor({ ...env, roleArn: env.roleArn }).get();
          return { ok: true, source: "role", credentials };
        } catch (error) {
          if (error instanceof NoBaseCredentials) {
            return {
              ok: false,
              message:
                `Environment ${env.id} assumes ${env.roleArn}, which needs server-wide AWS credentials to call STS: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or AWS_CONTAINER_CREDENTIALS_FULL_URI on the server`,
            };
          }
          return failure(error);
        }
      }
      if (env.accessKeyId && env.secretCiphertext) {
        return await decryptStored(env, options.cipher);
      }
      if (serverSource === "none") {
        return {
          ok: false,
          message:
            `Environment ${env.id} has no AWS credentials: PATCH /api/environments/${env.id} with credentials or roleArn, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on the server`,
        };
      }
      try {
        const credentials = await baseCredentials();
        return { ok: true, source: serverSource, credentials: credentials! };
      } catch (error) {
        return failure(error);
      }
    },
  };
}

/** The provider the code had before roles: stored keys, then static server keys, no cache. */
export function staticCredentialProvider(
  serverCredentials: AwsCredentials | undefined,
  cipher: CredentialsCipher | undefined,
): CredentialProvider {
  return createCredentialProvider({ serverCredentials, cipher });
}

class NoBaseCredentials extends Error {}

/** A token file that did not read; `variable` names the setting, `path` is for the log only. */
class TokenFileError extends Error {
  constructor(readonly variable: string, readonly path: string, override readonly cause: unknown) {
    super(`${variable} cannot be read`);
  }
}

function upstreamFailure(error: unknown): ResolvedCredentials {
  if (error instanceof CloudWatchError) return { ok: false, error };
  throw error;
}

async function decryptStored(
  env: EnvironmentRow,
  cipher: CredentialsCipher | undefined,
): Promise<ResolvedCredentials> {
  if (!cipher) {
    return {
      ok: false,
      message:
        `Environment ${env.id} has stored credentials but the server has no CREDENTIALS_KEY to decrypt them; restore the key it was created with`,
    };
  }
  try {
    // Bound to this environment's id: a ciphertext copied from another row does not open here.
    const secret = await cipher.decrypt(env.secretCiphertext!, env.id);
    return {
      ok: true,
      source: "environment",
      credentials: { accessKeyId: env.accessKeyId!, ...secret },
    };
  } catch {
    return {
      ok: false,
      message:
        `Environment ${env.id}'s stored credentials do not decrypt with this CREDENTIALS_KEY; set the key they were stored with as CREDENTIALS_KEY_PREVIOUS, or PATCH new credentials`,
    };
  }
}

interface Cached {
  get(): Promise<TemporaryCredentials>;
  /** True once the held credentials are past their time (or none are held). */
  expired(): boolean;
}

/** Holds one set of temporary credentials, renewed by `load` REFRESH_MARGIN_MS before expiry. */
function cached(clock: () => Date, load: () => Promise<TemporaryCredentials>): Cached {
  let held: TemporaryCredentials | undefined;
  let loading: Promise<TemporaryCredentials> | undefined;
  const fresh = () => held !== undefined && clock().getTime() < held.expiration - REFRESH_MARGIN_MS;
  return {
    get() {
      if (fresh()) return Promise.resolve(held!);
      loading ??= load().then(
        (credentials) => {
          held = credentials;
          return credentials;
        },
      ).finally(() => {
        loading = undefined;
      });
      return loading;
    },
    expired: () =>
      held === undefined ? loading === undefined : clock().getTime() >= held.expiration,
  };
}
