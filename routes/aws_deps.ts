import type { AppDeps } from "../http/deps.ts";
import type { LoadDeps } from "../metrics/capture_load.ts";
import { loadDepsOf } from "../metrics/instance_deps.ts";

/** Performance Insights and RDS dependencies (with the process's credentials) from the app's. */
export const loadDeps = (deps: AppDeps): LoadDeps =>
  loadDepsOf({
    db: deps.db,
    pi: deps.pi,
    rds: deps.rds,
    credentialProvider: deps.credentialProvider,
    serverCredentials: deps.config.awsCredentials,
    cipher: deps.credentialsCipher,
  });
