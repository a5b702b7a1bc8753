// The API reference: the OpenAPI document at /docs/json, and Swagger UI at /docs with its
// script and stylesheet served from the installed swagger-ui-dist package, so the page works
// with no internet access.
import { openapi } from "@elysiajs/openapi";
import type { TSchema } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { OpenAPIV3 } from "openapi-types";
import type { AuthConfig } from "../config";
import { ApiError, problemModel, tokenErrorCodes } from "./problem";

const dist = new URL("../../node_modules/swagger-ui-dist/", import.meta.url);
const assets = ["swagger-ui-bundle.js", "swagger-ui.css"];

export function apiReference(auth: AuthConfig) {
  const mode = auth.mode === "header" ? "the X-User-Id header" : "a bearer JWT";
  return new Elysia()
    .use(
      openapi({
        path: "/docs",
        specPath: "/docs/json",
        provider: "swagger-ui",
        swagger: { cdn: "/docs/assets/swagger-ui-bundle.js", theme: "/docs/assets/swagger-ui.css", autoDarkMode: false },
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
                description: `Bearer mode: a JWT from the auth server; its \`sub\` is the user's UUID. 401 codes: ${tokenErrorCodes.join(", ")}.`,
              },
            },
          },
          security: [{ userIdHeader: [] }, { bearerAuth: [] }],
        },
      }),
    )
    .get(
      "/docs/assets/:file",
      ({ params }) => {
        if (!assets.includes(params.file)) throw new ApiError(404, "NOT_FOUND", `There is no /docs/assets/${params.file.slice(0, 100)}.`);
        return Bun.file(new URL(params.file, dist));
      },
      { detail: { hide: true } },
    );
}

const problemStatuses: Record<number, string> = {
  400: "Missing or malformed X-User-Id, path id, query parameter or JSON; field_errors names it",
  401: "Bearer mode: missing, malformed, expired or untrusted token",
  404: "No such todo for this user (another user's todo answers the same)",
  413: "Body over the size limit",
  415: "Body is not JSON",
  422: "Body breaks a rule; field_errors says which",
  503: "Database unavailable; retry after Retry-After seconds",
};

/**
 * OpenAPI responses for a route. They document the answers rather than validate them at run
 * time: the store's types already fix their shape, and checking every item of every list cost
 * a third of list throughput (bench/results.md).
 */
export function documentedResponses(
  success: Record<number, TSchema | undefined>,
  problems: number[],
  successHeaders?: Record<string, OpenAPIV3.HeaderObject>,
) {
  // A TypeBox schema is a JSON Schema object; OpenAPI's types just do not know it.
  const content = (type: string, schema: TSchema) => ({ [type]: { schema: schema as OpenAPIV3.SchemaObject } });
  const responses: OpenAPIV3.ResponsesObject = {};
  for (const [status, schema] of Object.entries(success)) {
    responses[status] = {
      description: "Success",
      ...(successHeaders && { headers: successHeaders }),
      ...(schema && { content: content("application/json", schema) }),
    };
  }
  for (const status of problems) {
    responses[status] = { description: problemStatuses[status] ?? "Error", content: content("application/problem+json", problemModel) };
  }
  return responses;
}
