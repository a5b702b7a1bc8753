// createApp: the whole HTTP service, built from its dependencies so tests can drive it
// in-process with app.handle(new Request(...)).
import { Elysia } from "elysia";
import { Registry } from "prom-client";
import { apiReference, DOCS_PATH } from "./api-docs/api-reference";
import type { CallerResolver } from "./auth/caller";
import { callerResolverFor } from "./auth/resolver";
import type { Config } from "./config";
import { createCircuit, DatabaseDownError } from "./db/circuit";
import type { Database } from "./db/connect";
import { answeredWithin, createQueryRunner } from "./db/run-query";
import { crossOrigin } from "./http/cors";
import { toApiError } from "./http/errors";
import { parseJsonBody } from "./http/json-body";
import { type ApiError, problemResponse, serverError } from "./http/problem";
import { requestGate } from "./http/request-gate";
import { createLogger, errorFields, type Logger } from "./log";
import { metrics } from "./observability/metrics";
import { requestLog } from "./observability/request-log";
import type { Tracing } from "./observability/tracing";
import { taskRoutes } from "./tasks/routes";
import { changeAnnouncer } from "./todos/announce";
import { liveChanges } from "./todos/live";
import { todoRoutes } from "./todos/routes";
import { type TodoStore, todoStore } from "./todos/store";
import { syncRoutes } from "./todos/sync-routes";
import { meRoutes } from "./users/routes";

export type AppDeps = {
  database: Database;
  config: Config;
  logger?: Logger;
  /** False while start-up migrations have not run; the API answers 503 until then. */
  isReady?: () => boolean;
  /** Seams for tests: a store of their own (one that fails, say), and who the caller is. */
  store?: TodoStore;
  callerOf?: CallerResolver;
  /** Where /metrics reads from (index.ts passes one with the process metrics); each app makes its own otherwise. */
  metricsRegistry?: Registry;
  /** Traces, when configured: index.ts loads the SDK only then. */
  tracing?: Tracing;
};

export function createApp({
  database,
  config,
  logger = createLogger(config.logLevel),
  isReady = () => true,
  metricsRegistry,
  tracing,
  ...seams
}: AppDeps) {
  const budgetMs = config.database.queryTimeoutMs;
  const circuit = createCircuit({
    probe: () => answeredWithin(database.ping(), budgetMs),
    logger,
    suspectProbes: config.database.poolMax + 1,
  });
  const observed = config.metrics
    ? metrics({ registry: metricsRegistry ?? new Registry(), circuit, connections: database.connections })
    : undefined;
  let runQuery = createQueryRunner({ budgetMs, isReady, circuit });
  if (observed) runQuery = observed.observeDatabase(runQuery);
  if (tracing) runQuery = tracing.traceDatabase(runQuery);
  // The store tells the announcer of each change, and the announcer announces through the store.
  const announcer = changeAnnouncer((userIds) => store.announce(userIds), logger);
  const store: TodoStore =
    seams.store ?? todoStore(database.db, runQuery, { maxTodosPerUser: config.maxTodosPerUser, onChange: announcer.changed });
  const live = liveChanges({ store, listen: database.listen, logger, ...config.sync });
  // One per app: in bearer mode it holds the cached key set.
  const callerOf = seams.callerOf ?? callerResolverFor(config.auth);
  const bodyLimits = { limit: config.bodyLimitBytes, timeoutMs: config.bodyTimeoutMs };
  // normalize: false makes unknown body properties an error instead of silently dropping them.
  const app =
    // standardHostname: false cuts the path after "http://" and whatever host follows, short or long;
    // Elysia's default assumes a host of at least four characters (docs/api.md, "Routing on the real path").
    new Elysia({ normalize: false, handler: { standardHostname: false } })
      .use(requestLog(logger))
      .use(tracing ? tracing.plugin : new Elysia())
      .use(observed ? observed.plugin : new Elysia())
      // CORS first: a request the gate refuses (a path spelled another way, a bad Host) still gets an answer
      // a page can read.
      .use(crossOrigin(config.corsOrigins))
      .use(requestGate({ docsPath: DOCS_PATH }))
      .use(apiReference(config.auth))
      .onParse(({ request }) => parseJsonBody(request, bodyLimits))
      .onError(({ code, error, request, set }) => {
        const requestId = set.headers["x-request-id"];
        let apiError: ApiError;
        try {
          apiError = toApiError(code, error, request.method);
        } catch (mappingError) {
          // Never Bun's debug page: describing an error must not become an error of its own.
          logger.error("mapping an error to HTTP failed", { request_id: requestId, ...errorFields(mappingError) });
          apiError = serverError;
        }
        // A bug is an error with its stack; a database that is away is a warning, logged with its cause.
        if (apiError.status === 500) logger.error("request failed", { request_id: requestId, ...errorFields(error) });
        // While the circuit is open, its change of state was logged once; each 503 is not news.
        else if (apiError.status === 503 && !(error instanceof DatabaseDownError))
          logger.warn("dependency unavailable", { request_id: requestId, ...errorFields(error, { stack: false }) });
        set.status = apiError.status;
        return problemResponse(apiError, set.headers as Record<string, string>);
      })
      .get("/health", () => ({ status: "ok" }), { detail: { hide: true } })
      .get(
        "/ready",
        async ({ status }) => {
          await runQuery("ping", () => database.ping(), { idempotent: true });
          return status(200, { status: "ready" });
        },
        { detail: { hide: true } },
      )
      .group("/api/v1", (api) =>
        api
          .use(todoRoutes(store, callerOf, bodyLimits))
          .use(syncRoutes(store, live, callerOf, config.sync.maxStreamsPerUser))
          .use(meRoutes(callerOf)),
      )
      // The todo-app front end's own API, over the same store (src/tasks/).
      .group("/api", (api) => api.use(taskRoutes(store, callerOf, bodyLimits)));
  return Object.assign(app, {
    // A live stream never ends by itself: shutdown ends them first, so draining waits only for requests.
    closeStreams: () => live.close(),
    /** Resolves once the changes made so far are announced to the other instances (shutdown, before closing the database). */
    changesAnnounced: announcer.settled,
  });
}

export type App = ReturnType<typeof createApp>;
