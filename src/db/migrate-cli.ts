// `bun run db:migrate`: applies drizzle/ to the configured database, then exits.
import { ConfigError, readConfig } from "../config";
import { connect } from "./connect";
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
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : error);
  process.exit(1);
}
