// createApp: the whole HTTP service, built from its dependencies so tests can drive it
// in-process with app.handle(new Request(...)).
import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";
import type { Config } from "./config";
import { createCircuit, DatabaseDownError } from "./db/circuit";
import type { Database } from "./db/connect";
import { createGuard, within } from "./db/guard";
import { apiReference } from "./http/api-reference";
import { toApiError } from "./http/errors";
import { parseJsonBody } from "./http/json-body";
import { problemResponse } from "./http/problem";
import { requestLog } from "./http/request-log";
import { securityHeaders } from "./http/security-headers";
import { userContextFor } from "./http/user-context";
import { createLogger, errorFields, type Logger } from "./log";
import { todoRoutes } from "./todos/routes";
import { todoStore } from "./todos/store";
import { meRoutes } from "./users/routes";

export type AppDeps = {
  database: Database;
  config: Config;
  logger?: Logger;
  /** False while start-up migrations have not run; the API answers 503 until then. */
  isReady?: () => boolean;
};

export function createApp({ database, config, logger = createLogger(config.logLevel), isReady = () => true }: AppDeps) {
  const budgetMs = config.database.queryTimeoutMs;
  const circuit = createCircuit({ probe: () => within(database.ping(), budgetMs), logger });
  const guard = createGuard({ budgetMs, isReady, circuit });
  const todos = todoStore(database.db, guard);
  // One per app: in bearer mode it holds the cached key set.
  const callerOf = userContextFor(config.auth);
  // normalize: false makes unknown body properties an error instead of silently dropping them.
  return (
    new Elysia({ normalize: false })
      .use(requestLog(logger))
      .use(securityHeaders)
      // CORS is off unless CORS_ORIGINS lists the front ends allowed to call from a browser.
      .use(
        config.corsOrigins.length > 0
          ? cors({
              origin: config.corsOrigins,
              methods: ["GET", "POST", "PATCH", "DELETE"],
              allowedHeaders: ["authorization", "content-type", "x-user-id", "x-request-id"],
              exposeHeaders: ["x-request-id", "retry-after", "www-authenticate"],
              maxAge: 600,
              // No cookies: the caller is named by a header or a bearer token.
              credentials: false,
            })
          : new Elysia(),
      )
      .use(apiReference(config.auth))
      .onParse(({ request }) => parseJsonBody(request, config.bodyLimitBytes))
      .onError(({ code, error, request, set }) => {
        const apiError = toApiError(code, error, request);
        const requestId = set.headers["x-request-id"];
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
          await guard(() => database.ping(), { idempotent: true });
          return status(200, { status: "ready" });
        },
        { detail: { hide: true } },
      )
      .group("/api/v1", (api) => api.use(todoRoutes(todos, callerOf)).use(meRoutes(callerOf)))
  );
}

export type App = ReturnType<typeof createApp>;
