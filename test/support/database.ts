// The database every test file shares: embedded PGlite by default, or a fresh database
// on the server named by TEST_DATABASE_URL, so runs never collide.
import { SQL } from "bun";
import type { SQLWrapper } from "drizzle-orm";
import { type Config, readConfig } from "../../src/config";
import { type ConnectOptions, connect, type Database } from "../../src/db/connect";
import { migrate } from "../../src/db/migrate";
import { type NeonRelay, startNeonRelay } from "./neon-relay";

const serverUrl = process.env.TEST_DATABASE_URL;
const driver = process.env.TEST_DATABASE_DRIVER ?? (serverUrl ? "bun" : "pglite");

// The Neon driver reaches the test server through a local WebSocket relay, as it would reach Neon's proxy.
let relay: NeonRelay | undefined;
export const neonRelay = () => {
  relay ??= startNeonRelay();
  return relay;
};

export type TestDatabase = { database: Database; config: Config; drop(): Promise<void> };

/** A new, empty, migrated database on the test server. Its time zone is not UTC on purpose. */
export async function createServerDatabase(
  env: Record<string, string> = {},
  options: ConnectOptions & { migrated?: boolean } = {},
): Promise<TestDatabase> {
  if (!serverUrl) throw new Error("createServerDatabase needs TEST_DATABASE_URL");
  const name = `todo_test_${process.pid}_${crypto.randomUUID().slice(0, 8)}`;
  const admin = new SQL({ url: serverUrl, max: 1 });
  await admin.unsafe(`create database ${name}`);
  await admin.unsafe(`alter database ${name} set timezone to 'Asia/Kolkata'`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const relay = driver === "neon" ? { NEON_WS_PROXY: neonRelay().proxy } : {};
  const config = readConfig({ DATABASE_URL: url.href, DATABASE_DRIVER: driver, LOG_LEVEL: "silent", ...relay, ...env });
  const database = await connect(config.database, options);
  if (options.migrated !== false) await migrate(database, config.database);
  return {
    database,
    config,
    async drop() {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

export async function createTestDatabase(options: ConnectOptions & { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (serverUrl) return createServerDatabase({}, options);
  const config = readConfig({ PGLITE_DATA_DIR: "memory://", LOG_LEVEL: "silent" });
  const database = await connect(config.database, options);
  if (options.migrated !== false) await migrate(database, config.database);
  return { database, config, drop: () => database.close() };
}

export const testDriver = driver;

/** Rows of a raw query, whichever driver ran it (Bun's client returns an array, the others `{ rows }`). */
export async function queryRows<T>(db: Database["db"], query: SQLWrapper): Promise<T[]> {
  const result = (await db.execute(query)) as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}
