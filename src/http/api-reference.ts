// The API reference: the OpenAPI document at /docs/json, and Swagger UI at /docs with its
// script and stylesheet served from the installed swagger-ui-dist package, so the page works
// with no internet access.
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import type { AuthConfig } from "../config";
import { ApiError, tokenErrorCodes } from "./problem";

const dist = new URL("../../node_modules/swagger-ui-dist/", import.meta.url);
const assets = ["swagger-ui-bundle.js", "swagger-ui.css"];

export const DOCS_PATH = "/docs";

export function apiReference(auth: AuthConfig) {
  const mode = auth.mode === "header" ? "the X-User-Id header" : "a bearer JWT";
  return new Elysia()
    .use(
      openapi({
        path: DOCS_PATH,
        specPath: `${DOCS_PATH}/json`,
        provider: "swagger-ui",
        swagger: { cdn: `${DOCS_PATH}/assets/swagger-ui-bundle.js`, theme: `${DOCS_PATH}/assets/swagger-ui.css`, autoDarkMode: false },
        documentation: {
          info: {
            title: "Todo API",
            version: "1.0.0",
            description: `Each user's todos, strictly isolated. Errors are application/problem+json with an error_code.\n\nThe caller is named by one of two schemes, chosen by the deployment: a bearer JWT (when AUTH_JWKS_URL or AUTH_JWT_SECRET is set; X-User-Id is then ignored) or the X-User-Id header set by a trusted gateway. This instance uses **${mode}**.`,
          },
          components: {
            securitySchemes: {
              userIdHeader: {
                type: "apiKey",
                in: "header",
                name: "X-User-Id",
                description: "Header mode (the default): the caller's user id, a UUID, set by a trusted gateway.",
              },
              bearerAuth: {
                type: "http",
                scheme: "bearer",
                bearerFormat: "JWT",
                description: `Bearer mode: a JWT from the auth server (Better Auth's /api/auth/token, for one); its \`sub\` names the user, and GET /api/v1/me says which user_id that is. 401 codes: ${tokenErrorCodes.join(", ")}.`,
              },
            },
          },
          security: [{ userIdHeader: [] }, { bearerAuth: [] }],
        },
      }),
    )
    .get(
      `${DOCS_PATH}/assets/:file`,
      ({ params }) => {
        if (!assets.includes(params.file))
          throw new ApiError(404, "NOT_FOUND", `The docs page has no such asset; it uses ${assets.join(" and ")}.`);
        return Bun.file(new URL(params.file, dist));
      },
      { detail: { hide: true } },
    );
}
