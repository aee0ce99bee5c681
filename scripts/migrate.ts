// `deno task db:migrate`: applies pending migrations to DATABASE_URL and exits. capwatch also
// migrates at every start; run this once before rolling a release out to several instances, so
// they do not race to apply the same migration.
import { ConfigError, loadConfig } from "../config.ts";
import { openDatabase } from "../db/client.ts";
import { pingDatabase } from "../db/health.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { rootCauseMessage } from "../db/errors.ts";

// A libSQL URL may carry ?authToken=…; only its part before the query is ever printed.
const shown = (url: string) => url.split("?")[0];
const fail = (message: string): never => {
  console.error(`capwatch: ${message}`);
  Deno.exit(1);
};

let url = "";
let authToken: string | undefined;
try {
  ({ databaseUrl: url, databaseAuthToken: authToken } = loadConfig(Deno.env.toObject()));
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
const database = await openDatabase(url, authToken).catch((e) =>
  fail(`cannot open the database ${shown(url)}: ${rootCauseMessage(e)}`)
);
const before = await pingDatabase(database.client).catch(() => 0);
const warn = (message: string, fields: Record<string, unknown>) =>
  console.error(`capwatch: ${message}: ${JSON.stringify(fields)}`);
await migrateDatabase(database.db, { warn }).catch((e) =>
  fail(`cannot migrate ${shown(url)}: ${rootCauseMessage(e)}`)
);
const after = await pingDatabase(database.client);
database.close();
console.log(`${shown(url)}: applied ${after - before} migration(s); schema version ${after}`);
