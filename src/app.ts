// createApp: the whole HTTP service, built from its dependencies so tests can drive it
// in-process with app.handle(new Request(...)).
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import type { Config } from "./config";
import type { Database } from "./db/connect";
import { docsAssets } from "./http/docs-assets";
import { toApiError } from "./http/errors";
import { parseJsonBody } from "./http/json-body";
import { problemResponse } from "./http/problem";
import { userIdFromHeader } from "./http/user-context";
import { todoRoutes } from "./todos/routes";

export type AppDeps = { database: Database; config: Config };

export function createApp({ database, config }: AppDeps) {
  // normalize: false makes unknown body properties an error instead of silently dropping them.
  return new Elysia({ normalize: false })
    .use(
      openapi({
        path: "/docs",
        specPath: "/docs/json",
        provider: "swagger-ui",
        // Served by this service: the reference page works with no internet access.
        swagger: { cdn: "/docs/assets/swagger-ui-bundle.js", theme: "/docs/assets/swagger-ui.css", autoDarkMode: false },
        exclude: { paths: ["/docs/assets/*"] },
        documentation: {
          info: {
            title: "Todo API",
            version: "1.0.0",
            description: "Each user's todos, strictly isolated. Errors are application/problem+json with an error_code.",
          },
          components: {
            securitySchemes: {
              userIdHeader: {
                type: "apiKey",
                in: "header",
                name: "X-User-Id",
                description: "The caller's user id (a UUID), set by a trusted gateway.",
              },
            },
          },
          security: [{ userIdHeader: [] }],
        },
      }),
    )
    .use(docsAssets)
    .onParse(({ request }) => parseJsonBody(request, config.bodyLimitBytes))
    .onError(({ code, error, request }) => problemResponse(toApiError(code, error, request)))
    .get("/health", () => ({ status: "ok" }), { detail: { hide: true } })
    .group("/api/v1", (api) => api.use(todoRoutes(database.db, userIdFromHeader)));
}

export type App = ReturnType<typeof createApp>;
