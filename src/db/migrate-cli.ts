// `bun run db:migrate`: applies drizzle/ to the configured database, then exits.
import { ConfigError, readConfig } from "../config";
import { connect } from "./connect";
import { DataDirectoryError } from "./data-dir-lock";
import { migrate } from "./migrate";

try {
  const { database: config } = readConfig();
  const database = await connect(config, { poolMax: 1 });
  try {
    await migrate(database, config);
    console.log(`migrations applied (${config.driver})`);
  } finally {
    await database.close();
  }
} catch (error) {
  if (error instanceof ConfigError) console.error(`configuration error: ${error.message}`);
  else if (error instanceof DataDirectoryError) console.error(error.message);
  else console.error(error);
  process.exit(1);
}
