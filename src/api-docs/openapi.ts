// The OpenAPI document's shared parts, in one place: the schemas a client generator names
// (components.schemas), the response headers (components.headers), and what each route documents it
// answers. Features name their own schemas (nameSchemas) and bring their own problems (documented's
// answer tables); this module knows none of them.
import type { TSchema, TUndefined } from "@sinclair/typebox";
import type { OpenAPIV3 } from "openapi-types";
import { keysUnavailable, missingToken, tokenExpired } from "../auth/bearer";
import { malformedUserId, missingUserContext } from "../auth/header";
import { databaseUnavailable } from "../http/errors";
import { type BodyLimits, bodyTooSlow, notJson, tooLarge } from "../http/json-body";
import { type ApiError, errorCodes, fieldErrorModel, problemBody, problemModel } from "../http/problem";
import { badHost } from "../http/request-gate";

/** Every named schema. A schema used inside another (Todo in TodoPage) becomes a $ref there too. */
export const componentSchemas: Record<string, TSchema> = { Problem: problemModel, FieldError: fieldErrorModel };
const names = new Map<TSchema, string>(Object.entries(componentSchemas).map(([name, schema]) => [schema, name]));
/** Every error_code the service answers: the platform's, and each feature's (from its documented examples). */
const allErrorCodes = new Set<string>(errorCodes);

/** A feature's schemas, under the names client generators will give their types. */
export function nameSchemas<T extends Record<string, TSchema>>(schemas: T): T {
  for (const [name, schema] of Object.entries(schemas)) {
    componentSchemas[name] = schema;
    names.set(schema, name);
  }
  return schemas;
}

const integer = { type: "integer" } as const;
const text = { type: "string" } as const;

/** Every documented response header. */
export const componentHeaders = {
  "X-Request-Id": {
    description:
      "This request's id, to quote when reporting a problem: the caller's own X-Request-Id when it sent a plain one (1 to 128 of A-Z a-z 0-9 _ . : -), else a new UUID",
    schema: text,
  },
  "Retry-After": { description: "Seconds to wait before retrying", schema: integer },
  "WWW-Authenticate": {
    description: 'RFC 6750 challenge, e.g. `Bearer realm="todo-api", error="invalid_token", error_description="..."`',
    schema: text,
  },
  Location: { description: "The new resource's path: /api/v1/todos/{id}, or /api/{user_id}/tasks/{id}", schema: text },
  ETag: {
    description: "Strong; changes whenever the todo (or the page) changes. Send it back in If-Match or If-None-Match",
    schema: text,
  },
  "Idempotent-Replayed": {
    description: "`true` when the answer is a replay of an earlier create with the same Idempotency-Key",
    schema: text,
  },
  "Cache-Control": {
    description:
      "`private, no-cache` on an answer with an ETag: a browser may keep it for this caller and revalidates it (If-None-Match) before each use; `no-store` on every other answer",
    schema: text,
  },
  Vary: { description: "`Authorization, X-User-Id` (and `Origin` with CORS): a kept copy is good for the same caller only", schema: text },
  Link: {
    description:
      'RFC 8288 `<...>; rel="next"`, only when a next page exists: this path with the same limit and completed, and the next cursor',
    schema: text,
  },
} satisfies Record<string, OpenAPIV3.HeaderObject>;
export type HeaderName = keyof typeof componentHeaders;

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` });

/** A schema as JSON, with every named schema inside it (but not itself) replaced by its $ref. */
function withRefs(schema: unknown, root = true): OpenAPIV3.SchemaObject {
  // A JSON Schema is plain JSON; OpenAPI's types do not say so.
  if (Array.isArray(schema)) return schema.map((item) => withRefs(item, false)) as unknown as OpenAPIV3.SchemaObject;
  if (!schema || typeof schema !== "object") return schema as OpenAPIV3.SchemaObject;
  const name = names.get(schema as TSchema);
  if (name && !root) return schemaRef(name) as OpenAPIV3.SchemaObject;
  // Only enumerable string keys: TypeBox's symbols and our non-enumerable marks stay out of the document.
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, withRefs(value, false)]));
}

export function schemasDocument(): Record<string, OpenAPIV3.SchemaObject> {
  return Object.fromEntries(Object.entries(componentSchemas).map(([name, schema]) => [name, withRefs(schema)]));
}

/**
 * Lists every error code in the document's Problem schema. Called as the document is served: the
 * components are given to the plugin before the features' routes document their answers.
 */
export function listErrorCodes(document: OpenAPIV3.Document): OpenAPIV3.Document {
  const problem = document.components?.schemas?.Problem as OpenAPIV3.SchemaObject;
  (problem.properties?.error_code as OpenAPIV3.SchemaObject).enum = [...allErrorCodes];
  return document;
}

/**
 * What a route may answer with a problem: a realistic example of each (the ApiError the code throws).
 * No description: more examples of an answer described elsewhere (what a feature's schemas refuse, under the platform's 400 or 422).
 */
export type ProblemAnswer = { description?: string; headers?: HeaderName[]; examples: Record<string, ApiError> };

// Each example is the very error the code throws, from the function that throws it; a feature adds
// examples of its own (documented's answer tables), such as what its request schemas refuse.
const problems = {
  400: {
    description:
      "Missing or malformed Host, X-User-Id, Idempotency-Key, If-Match, path id, query parameter or JSON; field_errors names the field",
    examples: {
      missingUser: missingUserContext(),
      badUserId: malformedUserId(),
      badHost: badHost(),
    },
  },
  401: {
    description: "Bearer mode: a missing, malformed, expired or untrusted token; WWW-Authenticate says which",
    headers: ["WWW-Authenticate"],
    examples: { missingToken: missingToken(), expired: tokenExpired() },
  },
  415: {
    description: "The body is not sent as JSON",
    examples: { notJson: notJson("text/plain") },
  },
  422: {
    description: "The body breaks a rule (field_errors says which, with a code and, where one applies, the limit)",
    examples: {},
  },
  503: {
    description: "The database (or, in bearer mode, the auth server's keys) is unavailable; retry after Retry-After seconds",
    headers: ["Retry-After"],
    examples: { databaseDown: databaseUnavailable(), keysAway: keysUnavailable() },
  },
} satisfies Record<number, ProblemAnswer>;
export type ProblemStatus = keyof typeof problems;

/** What every API route may answer; a route with a body adds BODY_ANSWERED (and, with the app's limits, 408 and 413). */
export const ALWAYS_ANSWERED = [400, 401, 503] as const;
export const BODY_ANSWERED = [415, 422] as const;

/** What a route that takes a body may also answer, with this instance's limits in the examples. */
export function bodyProblems({ limit, timeoutMs }: BodyLimits) {
  return {
    408: { description: "The body did not arrive within BODY_TIMEOUT_MS", examples: { slowBody: bodyTooSlow(timeoutMs) } },
    413: { description: "The body is over BODY_LIMIT_BYTES", examples: { tooLarge: tooLarge(limit) } },
  } satisfies Record<number, ProblemAnswer>;
}

type Success = { description: string; schema?: TSchema; headers?: HeaderName[]; mediaType?: string };

const headersOf = (names: HeaderName[] = []) =>
  Object.fromEntries(["X-Request-Id" as const, ...names].map((name) => [name, headerRef(name)]));

const contentOf = (schema: TSchema) => ({
  "application/json": { schema: names.has(schema) ? schemaRef(names.get(schema) as string) : withRefs(schema) },
});
// A body that is not JSON (a stream of server-sent events): text.
const textContent = (mediaType: string) => ({ [mediaType]: { schema: text } });

/** Two answers with one status (a platform's 422 and a feature's, say) are documented as one. */
function merged(first: ProblemAnswer, second: ProblemAnswer): ProblemAnswer {
  const headers = [...new Set([...(first.headers ?? []), ...(second.headers ?? [])])];
  return {
    description: [first.description, second.description].filter(Boolean).join("; or "),
    headers,
    examples: { ...first.examples, ...second.examples },
  };
}

function problemResponse({ description = "", examples, headers }: ProblemAnswer) {
  return {
    description,
    headers: headersOf(headers),
    content: {
      "application/problem+json": {
        schema: schemaRef("Problem"),
        examples: Object.fromEntries(Object.entries(examples).map(([name, error]) => [name, { value: problemBody(error) }])),
      },
    },
  };
}

type Answers<S extends Record<number, Success>, P extends number> = {
  [K in keyof S]: S[K] extends { schema: infer T extends TSchema } ? T : TUndefined;
} & { [K in P]: typeof problemModel } & {
  // Elysia types any route with a request schema as possibly answering 422 with its own validation
  // error; here every error is a problem (and a path, query or header that fails validation is a 400).
  422: typeof problemModel;
};

/**
 * What a route answers: `responses` for its OpenAPI operation, and `types`, its answers per status for
 * Elysia's route type (and so for Eden). `problemStatuses` are the platform's problems the route may
 * answer whatever the configuration; `tables` are answers built for this app: the platform's that show
 * a setting (bodyProblems), and the feature's, each with the errors it throws as examples (their codes
 * join the document's list of error codes). Answers with one status are documented as one. `types` is
 * for the type checker only and is undefined at run time: given as a `response` schema, Elysia would
 * check every answer against it. The store's types fix the answers' shape already, and
 * test/openapi-contract.test.ts checks them, and every example, against the real answers.
 */
export function documented<
  const S extends Record<number, Success>,
  const P extends ProblemStatus,
  const T extends Record<number, ProblemAnswer>[] = [],
>(success: S, problemStatuses: readonly P[], ...tables: T) {
  const responses: OpenAPIV3.ResponsesObject = {};
  for (const [status, { description, schema, headers, mediaType }] of Object.entries(success) as [string, Success][]) {
    const content = mediaType ? textContent(mediaType) : schema && contentOf(schema);
    responses[status] = { description, headers: headersOf(headers), ...(content && { content }) };
  }
  const answers = new Map<number, ProblemAnswer>(problemStatuses.map((status) => [status, problems[status]]));
  for (const table of tables) {
    for (const [status, answer] of Object.entries(table)) {
      const earlier = answers.get(Number(status));
      answers.set(Number(status), earlier ? merged(earlier, answer) : answer);
    }
  }
  for (const [status, answer] of [...answers].sort(([a], [b]) => a - b)) {
    for (const error of Object.values(answer.examples)) allErrorCodes.add(error.code);
    responses[status] = problemResponse(answer);
  }
  return { responses, types: undefined as unknown as Answers<S, P | { [I in keyof T]: keyof T[I] & number }[number]> };
}
