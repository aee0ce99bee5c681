import type { Env } from "hono";
import type { Config } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { TokenVerifier } from "../auth/jwt.ts";
import type { Clock } from "../lifecycle/clock.ts";
import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { Logger } from "../logger.ts";
import type { CloudWatchClient } from "../metrics/cloudwatch.ts";
import type { CredentialProvider } from "../metrics/credentials.ts";
import type { PiClient } from "../metrics/pi.ts";
import type { RdsClient } from "../metrics/rds.ts";

/** Everything a request handler may use; built once in main.ts (or by a test). */
export interface AppDeps {
  db: Database;
  config: Config;
  clock: Clock;
  verifyToken: TokenVerifier;
  logger: Logger;
  cloudwatch: CloudWatchClient;
  /** Performance Insights and RDS; absent (some tests), load answers 409 and nothing is looked up. */
  pi?: PiClient;
  rds?: RdsClient;
  /** Present only when CREDENTIALS_KEY is configured. */
  credentialsCipher?: CredentialsCipher;
  /**
   * Resolves each environment's AWS credentials, caching temporary ones; shared with the
   * snapshotter. Absent (some tests), stored and static server keys are used without roles.
   */
  credentialProvider?: CredentialProvider;
  /** Resolves to the applied migration count when the database answers; rejects otherwise. */
  pingDatabase: () => Promise<number>;
  /** True once SIGINT/SIGTERM arrived; /health then answers 503. Absent means never. */
  isShuttingDown?: () => boolean;
}

/** The Hono environment shared by every route: dependencies and per-request values. */
export interface AppEnv extends Env {
  Variables: {
    deps: AppDeps;
    requestId: string;
    userId: string;
    /** Headers middleware before the handler adds to the answer (http/answer.ts). */
    answerHeaders?: Record<string, string>;
  };
}
