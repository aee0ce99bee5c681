/** Shared fixtures for the tests of the instance policy (issue 17): whose keys read which instance. */

/** The server's own AWS keys, as environment variables. */
export const SERVER_KEYS = {
  AWS_ACCESS_KEY_ID: "AKIASERVERWIDE000001",
  AWS_SECRET_ACCESS_KEY: "server/wide/secret/0000000000000000000000",
};

/** An environment's own keys, as the API takes them. */
export const OWN_KEYS = {
  accessKeyId: "AKIAOWNKEYS000000001",
  secretAccessKey: "own/secret/000000000",
};

/** A POST /api/environments body in us-east-1 for `dbInstanceIdentifier`, plus `extra`. */
export const envBody = (
  name: string,
  dbInstanceIdentifier: string,
  extra: Record<string, unknown> = {},
) => ({ name, region: "us-east-1", dbInstanceIdentifier, ...extra });
