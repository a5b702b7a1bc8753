// Start-up only: read config, connect, listen, migrate once the database answers, shut down.
import { createApp } from "./app";
import { backoff } from "./backoff";
import { type Config, ConfigError, readConfig } from "./config";
import { connect, type Database } from "./db/connect";
import { DataDirectoryError } from "./db/data-dir-lock";
import { classifyDatabaseError } from "./db/errors";
import { migrate } from "./db/migrate";
import { problemResponse, serverError } from "./http/problem";
import { apiHeaders } from "./http/request-gate";
import { createLogger, errorFields } from "./log";
import { processMetricsRegistry } from "./observability/metrics";
import { forgetOldDeletes } from "./todos/store";

let config: Config;
try {
  config = readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`configuration error: ${error.message}`);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
let ready = false;
let stopping = false;
let app: ReturnType<typeof createApp> | undefined;
let database: Database | undefined;
let sweep: ReturnType<typeof setInterval> | undefined;
// First of all: as PID 1 in a container, a SIGTERM with no handler would be ignored.
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
// A bug outside any request: one JSON line with its cause, then exit for the supervisor to restart us.
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    logger.error(`${event}; exiting`, errorFields(error));
    process.exit(1);
  });
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

try {
  database = await connect(config.database, {
    onIdleError: (error) => logger.warn("an idle database connection was closed; the next request opens a new one", errorFields(error)),
  });
} catch (error) {
  if (error instanceof DataDirectoryError) fail(error.message);
  throw error;
}

// Loaded only when an OTLP endpoint is set: with tracing off, the OpenTelemetry SDK costs nothing.
const tracing = config.tracing ? (await import("./observability/tracing")).startTracing(config.tracing) : undefined;
const metricsRegistry = config.metrics ? processMetricsRegistry() : undefined;

// Listen first: liveness (/health) answers while the database is still asleep or down.
try {
  app = createApp({ database, config, logger, isReady: () => ready, metricsRegistry, tracing }).listen({
    port: config.port,
    hostname: config.host,
    reusePort: config.reusePort,
    // Never Bun's debug page (source lines, absolute paths), whatever NODE_ENV says.
    development: false,
    // The last resort, for an error that escapes Elysia's own handling.
    error(error) {
      logger.error("request failed outside the app", errorFields(error));
      return problemResponse(serverError, apiHeaders);
    },
  });
} catch (error) {
  if ((error as { code?: unknown }).code === "EADDRINUSE") {
    fail(`port ${config.port} on ${config.host} is already in use by another process; stop it or set PORT to another port`);
  }
  throw error;
}
logger.info("listening", {
  url: `http://${config.host}:${app.server?.port}`,
  driver: config.database.driver,
  auth: config.auth.mode === "header" ? "X-User-Id header (trusted)" : `bearer JWT (${config.auth.mode})`,
  metrics: config.metrics ? "/metrics" : "off",
  tracing: config.tracing?.tracesUrl ?? "off",
});

for (let attempt = 0; !ready && !stopping; attempt++) {
  try {
    await migrate(database, config.database);
    ready = true;
    logger.info("database ready: migrations applied");
  } catch (error) {
    if (stopping) break;
    const fault = classifyDatabaseError(error);
    if (fault !== "unreachable" && fault !== "unavailable") {
      logger.error("migrations failed", errorFields(error));
      process.exit(1);
    }
    const retryInMs = Math.round(backoff(attempt, { firstMs: 250, maxMs: 10_000 }));
    logger.warn("database not reachable yet; retrying", {
      retry_in_ms: retryInMs,
      attempt: attempt + 1,
      ...errorFields(error, { stack: false }),
    });
    await Bun.sleep(retryInMs);
  }
}

// Deletes older than SYNC_RETENTION are forgotten, on every instance, a batch of users at a time.
const SWEEP_EVERY_MS = Math.min(config.sync.retentionS * 250, 3_600_000);
sweep = setInterval(async () => {
  if (!ready || stopping || !database) return;
  try {
    await forgetOldDeletes(database.db, config.sync.retentionS);
  } catch (error) {
    logger.warn("forgetting old deletes failed; trying again later", errorFields(error, { stack: false }));
  }
}, SWEEP_EVERY_MS);

async function shutdown(signal: string) {
  clearInterval(sweep);
  if (stopping) return;
  stopping = true;
  logger.info("shutting down: finishing in-flight requests", { signal, timeout_ms: config.shutdownTimeoutMs });
  const server = app?.server;
  await app?.closeStreams().catch((error) => logger.warn("ending the live streams failed", errorFields(error)));
  const drained = !server || (await Promise.race([server.stop().then(() => true), Bun.sleep(config.shutdownTimeoutMs).then(() => false)]));
  if (!drained) {
    logger.warn("shutdown timeout reached; closing the remaining connections");
    await server?.stop(true);
  }
  await app?.changesAnnounced();
  await database?.close().catch((error) => logger.warn("closing the database failed", errorFields(error)));
  // The last spans, those of the requests just drained.
  await tracing?.shutdown().catch((error) => logger.warn("sending the last spans failed", errorFields(error)));
  logger.info("stopped");
  process.exit(0);
}
