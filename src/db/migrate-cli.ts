// `bun run db:migrate`: applies drizzle/ to the configured database, then exits.
import { readConfig } from "../config";
import { connect } from "./connect";
import { migrate } from "./migrate";

const { database: config } = readConfig();
const database = await connect(config);
try {
  await migrate(database, config);
  console.log(`migrations applied (${config.driver})`);
} finally {
  await database.close();
}
