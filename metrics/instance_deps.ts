import type { CredentialsCipher } from "../auth/credentials_cipher.ts";
import type { AwsCredentials } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { LoadDeps } from "./capture_load.ts";
import { type CredentialProvider, staticCredentialProvider } from "./credentials.ts";
import type { PiClient } from "./pi.ts";
import type { RdsClient } from "./rds.ts";

/** What the app and the sweeper hold; main.ts always gives both clients, some tests neither. */
export interface AwsParts {
  db: Database;
  pi?: PiClient;
  rds?: RdsClient;
  credentialProvider?: CredentialProvider;
  serverCredentials?: AwsCredentials;
  cipher?: CredentialsCipher;
}

/**
 * The Performance Insights / RDS dependencies with the process's credential provider. Without
 * clients nothing is looked up: environments stay pending and load answers 409.
 */
export function loadDepsOf(parts: AwsParts): LoadDeps {
  return {
    db: parts.db,
    pi: parts.pi,
    rds: parts.rds,
    credentials: parts.credentialProvider ??
      staticCredentialProvider(parts.serverCredentials, parts.cipher),
  };
}
