// Start-up only: read config, connect, migrate, listen.
import { createApp } from "./app";
import { type Config, ConfigError, readConfig } from "./config";
import { connect } from "./db/connect";
import { migrate } from "./db/migrate";

let config: Config;
try {
  config = readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`configuration error: ${error.message}`);
  process.exit(1);
}

const database = connect(config.database);
await migrate(database, config.database);
const app = createApp({ database, config }).listen({ port: config.port, hostname: config.host });
console.log(`todo api listening on http://${config.host}:${app.server?.port} (database: ${config.database.driver})`);
