// The API reference: the OpenAPI document at /docs/json, and Swagger UI at /docs with its
// script and stylesheet served from the installed swagger-ui-dist package, so the page works
// with no internet access.
import { openapi } from "@elysiajs/openapi";
import { unwrapSchema } from "@elysiajs/openapi/openapi";
import { Elysia } from "elysia";
import type { OpenAPIV3 } from "openapi-types";
import type { AuthConfig } from "../config";
import { ApiError, tokenErrorCodes } from "../http/problem";
import { DOCUMENTED_AS } from "../http/validation";
import { componentHeaders, componentSchemas, listErrorCodes, schemasDocument } from "./openapi";

const dist = new URL("../../node_modules/swagger-ui-dist/", import.meta.url);
const assets = ["swagger-ui-bundle.js", "swagger-ui.css"];

export const DOCS_PATH = "/docs";
const SPEC_PATH = `${DOCS_PATH}/json`;

// Each named schema as the plugin writes a request body's schema (the same function, so the same JSON).
const bodyNamesOf = () =>
  new Map(Object.entries(componentSchemas).map(([name, schema]) => [JSON.stringify(unwrapSchema(schema)), name] as const));

/**
 * The plugin writes each request body's schema inline, since Elysia validates it inline (a named
 * Elysia model is validated through a clone that loses describedByUs's marks, see http/validation.ts).
 * Where it is one of the named schemas, name it. Done once: the plugin keeps the document it built.
 */
function nameRequestBodies(document: OpenAPIV3.Document): OpenAPIV3.Document {
  const bodyNames = bodyNamesOf();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item ?? {})) {
      const content = (operation as OpenAPIV3.OperationObject).requestBody as OpenAPIV3.RequestBodyObject | undefined;
      for (const media of Object.values(content?.content ?? {})) {
        const name = bodyNames.get(JSON.stringify(media.schema));
        if (name) media.schema = { $ref: `#/components/schemas/${name}` };
      }
    }
  }
  return document;
}

// The caller's own headers are in the routes' schemas so that typed clients may send them; in the
// document the security scheme stands for them, and Swagger UI would ask for them twice.
const CALLER_HEADERS = new Set(["x-user-id", "authorization"]);

/** Each operation's parameters as a client should see them: no caller headers, query numbers as numbers. */
function documentParameters(document: OpenAPIV3.Document): OpenAPIV3.Document {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item ?? {}) as OpenAPIV3.OperationObject[]) {
      if (!operation.parameters) continue;
      const parameters = operation.parameters as OpenAPIV3.ParameterObject[];
      operation.parameters = parameters.filter((parameter) => !(parameter.in === "header" && CALLER_HEADERS.has(parameter.name)));
      for (const parameter of operation.parameters as OpenAPIV3.ParameterObject[]) {
        const documentedAs = (parameter.schema as Record<string, unknown> | undefined)?.[DOCUMENTED_AS];
        if (documentedAs) parameter.schema = documentedAs as OpenAPIV3.SchemaObject;
      }
    }
  }
  return document;
}

const securitySchemes = {
  userIdHeader: {
    type: "apiKey",
    in: "header",
    name: "X-User-Id",
    description: "Header mode (this deployment's): the caller's user id, a UUID, set by a trusted gateway.",
  },
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: `Bearer mode (this deployment's): a JWT from the auth server (Better Auth's /api/auth/token, for one); its \`sub\` names the user, and GET /api/v1/me says which user_id that is. 401 codes: ${tokenErrorCodes.join(", ")}.`,
  },
} satisfies Record<string, OpenAPIV3.SecuritySchemeObject>;

export function apiReference(auth: AuthConfig) {
  // The scheme of the running deployment only: the other one would be refused here.
  const scheme = auth.mode === "header" ? "userIdHeader" : "bearerAuth";
  const mode = auth.mode === "header" ? "the X-User-Id header" : "a bearer JWT";
  return new Elysia()
    .onAfterHandle(({ path, response }) =>
      path === SPEC_PATH ? listErrorCodes(documentParameters(nameRequestBodies(response as OpenAPIV3.Document))) : undefined,
    )
    .use(
      openapi({
        path: DOCS_PATH,
        specPath: SPEC_PATH,
        provider: "swagger-ui",
        swagger: {
          // The plugin gives the page the spec's path relative to the page ("docs/json"), which from /docs/
          // resolves to /docs/docs/json. Its options type leaves `url` out, but the page takes it as given;
          // test/docs.test.ts loads the page from both /docs and /docs/.
          ...({ url: SPEC_PATH } as object),
          cdn: `${DOCS_PATH}/assets/swagger-ui-bundle.js`,
          theme: `${DOCS_PATH}/assets/swagger-ui.css`,
          autoDarkMode: false,
        },
        documentation: {
          info: {
            title: "Todo API",
            version: "1.0.0",
            // No license has been chosen for this service; this says so rather than inventing one.
            license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
            description: `Each user's todos, strictly isolated. Errors are application/problem+json with an error_code.\n\nThe caller is named by one of two schemes, chosen by the deployment: a bearer JWT (when AUTH_JWKS_URL or AUTH_JWT_SECRET is set; X-User-Id is then ignored) or the X-User-Id header set by a trusted gateway. This instance uses **${mode}**.`,
          },
          // Relative: this service, wherever it is reached.
          servers: [{ url: "/", description: "The service that serves this document" }],
          components: {
            schemas: schemasDocument(),
            headers: componentHeaders,
            securitySchemes: { [scheme]: securitySchemes[scheme] },
          },
          security: [{ [scheme]: [] }],
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
