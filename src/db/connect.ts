// The one seam that picks the driver. Everything above it sees a Drizzle `Db`.
import { sql } from "drizzle-orm";
import type { Logger } from "drizzle-orm/logger";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { DatabaseConfig, DatabaseDriver } from "../config";
import { dataDirectoryOf, lockDataDirectory } from "./data-dir-lock";
import * as schema from "./schema";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Database = {
  db: Db;
  driver: DatabaseDriver;
  /** One round trip; throws when the database cannot answer. */
  ping(): Promise<void>;
  /**
   * Calls onNotify with the payload of each notification on `channel`, and onListen once listening and again
   * after every reconnect (what was sent while the connection was down is lost: onListen is the cue to catch up).
   * Resolves to a function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen: () => void): Promise<() => Promise<void>>;
  /** The pool's connections, where the driver tells (Neon's pool); Bun SQL and PGlite do not. */
  connections?(): { inUse: number; idle: number };
  close(): Promise<void>;
};

export type ConnectOptions = {
  /** Overrides DB_POOL_MAX, e.g. 1 for the migrator. */
  poolMax?: number;
  /** Sees every statement; the query audit in the tests uses it. */
  logger?: Logger;
  /** Called when an idle pooled connection dies; it must not crash the process. */
  onIdleError?: (error: Error) => void;
  /** Postgres statement_timeout; defaults to the request budget. 0 (none) for migrations. */
  statementTimeoutMs?: number;
};

// Each driver is imported only when chosen: loading PGlite would slow a start on Postgres and cost megabytes.
export async function connect(config: DatabaseConfig, options: ConnectOptions = {}): Promise<Database> {
  const poolMax = options.poolMax ?? config.poolMax;
  const statement_timeout = options.statementTimeoutMs ?? config.queryTimeoutMs;
  const drizzleConfig = { schema, logger: options.logger };
  let database: Omit<Database, "ping">;
  const { SQL } = await import("bun");
  // A server's notifications come on a session of its own: Bun's client keeps one for listen(), reconnecting
  // and subscribing again by itself.
  const listenOn =
    (client: InstanceType<typeof SQL>): Database["listen"] =>
    async (channel, onNotify, onListen) => {
      const subscription = await client.listen(channel, onNotify, onListen);
      return () => subscription.unlisten();
    };
  switch (config.driver) {
    case "pglite": {
      const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([import("@electric-sql/pglite"), import("drizzle-orm/pglite")]);
      const folder = dataDirectoryOf(config.pgliteDataDir);
      const unlock = folder ? lockDataDirectory(folder) : () => {};
      const client = new PGlite(folder ?? config.pgliteDataDir);
      database = {
        db: drizzlePglite({ client, ...drizzleConfig }),
        driver: "pglite",
        // One process, one session: a notification is delivered in the process.
        async listen(channel, onNotify, onListen) {
          const unlisten = await client.listen(channel, onNotify);
          onListen();
          return unlisten;
        },
        close: () => client.close().finally(unlock),
      };
      break;
    }
    case "bun": {
      const { drizzle: drizzleBunSql } = await import("drizzle-orm/bun-sql");
      const client = new SQL({
        url: requireUrl(config),
        max: poolMax,
        connectionTimeout: config.connectTimeoutMs / 1000,
        idleTimeout: 60,
        connection: { statement_timeout, TimeZone: "UTC" },
      });
      database = { db: drizzleBunSql({ client, ...drizzleConfig }), driver: "bun", listen: listenOn(client), close: () => client.close() };
      break;
    }
    case "neon": {
      const [{ neonConfig, Pool: NeonPool }, { drizzle: drizzleNeon }] = await Promise.all([
        import("@neondatabase/serverless"),
        import("drizzle-orm/neon-serverless"),
      ]);
      configureNeon(neonConfig, config);
      const client = new NeonPool({
        connectionString: requireUrl(config),
        max: poolMax,
        connectionTimeoutMillis: config.connectTimeoutMs,
        idleTimeoutMillis: 60_000,
        statement_timeout,
      });
      // Neon closes idle connections (57P01); an unhandled 'error' event would kill the process.
      client.on("error", (error: Error) => options.onIdleError?.(error));
      // LISTEN needs a session: on Neon the direct endpoint (Neon's pooler runs each transaction wherever), with
      // Bun's client, opened on the first listen().
      let listener: InstanceType<typeof SQL> | undefined;
      database = {
        db: drizzleNeon({ client, ...drizzleConfig }),
        driver: "neon",
        listen(...args) {
          listener ??= new SQL({
            url: config.migrationUrl ?? requireUrl(config),
            max: 1,
            connectionTimeout: config.connectTimeoutMs / 1000,
          });
          return listenOn(listener)(...args);
        },
        close: () => Promise.all([client.end(), listener?.close()]).then(() => {}),
        connections: () => ({ inUse: client.totalCount - client.idleCount, idle: client.idleCount }),
      };
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

function configureNeon(neonConfig: typeof import("@neondatabase/serverless").neonConfig, config: DatabaseConfig) {
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
