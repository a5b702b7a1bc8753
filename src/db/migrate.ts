import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { DatabaseConfig } from "../config";
import { connect, type Database } from "./connect";

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));
// Any fixed number; it names the lock that serialises instances starting at once.
export const MIGRATION_LOCK_ID = 7_316_402;

async function runMigrator(database: Database) {
  const { db, driver } = database;
  const config = { migrationsFolder };
  // Each driver ships its own migrator; they share the same journal format.
  switch (driver) {
    case "pglite":
      return (await import("drizzle-orm/pglite/migrator")).migrate(db as never, config);
    case "bun":
      return (await import("drizzle-orm/bun-sql/migrator")).migrate(db as never, config);
    case "neon":
      return (await import("drizzle-orm/neon-serverless/migrator")).migrate(db as never, config);
  }
}

/**
 * Applies the migrations in drizzle/. Drizzle's migrator takes no lock of its own, so a
 * session advisory lock keeps instances that start at once from racing. The lock and its
 * unlock must share a session: a server gets one dedicated connection for this; PGlite is
 * a single session already (and an in-memory one exists only inside `database`).
 */
export async function migrate(database: Database, config: DatabaseConfig): Promise<void> {
  // No statement timeout: a migration may rightly take longer than a request, and so may waiting for the lock.
  // Idle errors need no handling: the connection lives only as long as this function.
  const single =
    database.driver === "pglite"
      ? database
      : await connect({ ...config, url: config.migrationUrl }, { poolMax: 1, statementTimeoutMs: 0, onIdleError: () => {} });
  try {
    await single.db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    try {
      await runMigrator(single);
    } finally {
      await single.db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
    }
  } finally {
    if (single !== database) await single.close();
  }
}
