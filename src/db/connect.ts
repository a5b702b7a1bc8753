// The one seam that picks the driver. Everything above it sees a Drizzle `Db`.
import { PGlite } from "@electric-sql/pglite";
import { Pool as NeonPool, neonConfig } from "@neondatabase/serverless";
import { SQL } from "bun";
import { sql } from "drizzle-orm";
import { drizzle as drizzleBunSql } from "drizzle-orm/bun-sql";
import type { Logger } from "drizzle-orm/logger";
import { drizzle as drizzleNeon } from "drizzle-orm/neon-serverless";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import type { DatabaseConfig, DatabaseDriver } from "../config";
import * as schema from "./schema";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Database = {
  db: Db;
  driver: DatabaseDriver;
  /** One round trip; throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

export type ConnectOptions = {
  /** Overrides DB_POOL_MAX, e.g. 1 for the migrator. */
  poolMax?: number;
  /** Sees every statement; the query audit in the tests uses it. */
  logger?: Logger;
  /** Called when an idle pooled connection dies; it must not crash the process. */
  onIdleError?: (error: Error) => void;
};

export function connect(config: DatabaseConfig, options: ConnectOptions = {}): Database {
  const poolMax = options.poolMax ?? config.poolMax;
  const drizzleConfig = { schema, logger: options.logger };
  let database: Omit<Database, "ping">;
  switch (config.driver) {
    case "pglite": {
      const client = new PGlite(config.pgliteDataDir);
      database = { db: drizzlePglite({ client, ...drizzleConfig }), driver: "pglite", close: () => client.close() };
      break;
    }
    case "bun": {
      const client = new SQL({
        url: requireUrl(config),
        max: poolMax,
        connectionTimeout: config.connectTimeoutMs / 1000,
        idleTimeout: 60,
        connection: { statement_timeout: config.queryTimeoutMs, TimeZone: "UTC" },
      });
      database = { db: drizzleBunSql({ client, ...drizzleConfig }), driver: "bun", close: () => client.close() };
      break;
    }
    case "neon": {
      configureNeon(config);
      const client = new NeonPool({
        connectionString: requireUrl(config),
        max: poolMax,
        connectionTimeoutMillis: config.connectTimeoutMs,
        idleTimeoutMillis: 60_000,
        statement_timeout: config.queryTimeoutMs,
      });
      // Neon closes idle connections (57P01); an unhandled 'error' event would kill the process.
      client.on("error", (error: Error) => options.onIdleError?.(error));
      database = { db: drizzleNeon({ client, ...drizzleConfig }), driver: "neon", close: () => client.end() };
      break;
    }
  }
  return {
    ...database,
    async ping() {
      await database.db.execute(sql`select 1`);
    },
  };
}

function requireUrl(config: DatabaseConfig): string {
  if (!config.url) throw new Error(`the ${config.driver} driver needs a database URL`);
  return config.url;
}

function configureNeon(config: DatabaseConfig) {
  // Bun has a native WebSocket; the `ws` package is not needed.
  neonConfig.webSocketConstructor = WebSocket;
  const proxy = config.neonWsProxy;
  if (proxy) {
    // A local relay in front of an ordinary Postgres: plain ws:// and no TLS on the Postgres hop.
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    neonConfig.forceDisablePgSSL = true;
  }
}
