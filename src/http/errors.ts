// Every error becomes HTTP here, and only here.
import type { TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { ParseError, ValidationError } from "elysia";
import { classifyDatabaseError } from "../db/errors";
import { ApiError, type FieldError, serverError, serviceUnavailable } from "./problem";
import { formatMessage } from "./validation";

type Refusal = Omit<FieldError, "field">;

function describe(error: ValueError, part: Part): Refusal {
  const { schema } = error;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { code: "required", message: "is required" };
    case ValueErrorType.ObjectAdditionalProperties:
      return { code: "not_allowed", message: part === "query" ? "is not a parameter of this route" : "is not a property you can set" };
    case ValueErrorType.ObjectMinProperties:
      return { code: "nothing_to_change", message: "send at least one of the properties you want to change" };
    case ValueErrorType.Object:
      return { code: "invalid_type", message: "must be a JSON object" };
    case ValueErrorType.StringMinLength:
      return { code: "too_short", message: "must not be empty", limit: schema.minLength };
    case ValueErrorType.StringMaxLength:
      return { code: "too_long", message: `must be at most ${schema.maxLength} characters`, limit: schema.maxLength };
    case ValueErrorType.StringFormat:
      return { code: "invalid_format", message: formatMessage(schema.format) ?? error.message };
    case ValueErrorType.String:
      return { code: "invalid_type", message: "must be a string" };
    case ValueErrorType.Boolean:
      return { code: "invalid_type", message: "must be true or false" };
    case ValueErrorType.Union: {
      // One of a few values: name them.
      const values = (schema.anyOf as TSchema[]).map((branch) => branch.const);
      if (values.every((value) => typeof value === "string")) return { code: "invalid", message: `must be one of ${values.join(", ")}` };
      // A string that failed the string branch: say why, rather than "expected string or null".
      const branch = typeof error.value === "string" ? error.errors[0]?.First() : undefined;
      return branch ? describe(branch, part) : { code: "invalid_type", message: "must be a string or null" };
    }
    default:
      return { code: "invalid", message: error.message };
  }
}

type Part = ValidationError["type"];

// A field error per field is enough to fix a request; a URL of thousands of bad parameters gets the first few.
const MAX_FIELD_ERRORS = 20;

function fieldName(error: ValueError, part: Part): string {
  const path = error.path.replace(/^\//, "").replaceAll("/", ".");
  if (path) return path.length > 100 ? `${path.slice(0, 100)}…` : path;
  return part === "query" ? "(query)" : "(body)";
}

// TypeBox's own errors, not Elysia's `all`: Elysia's summaries interpolate the value, which throws on {"toString":1}.
function valueErrors({ validator, value }: ValidationError): Iterable<ValueError> {
  const checker = validator as { Errors?: (value: unknown) => Iterable<ValueError>; schema?: TSchema };
  return checker.Errors ? checker.Errors(value) : Value.Errors((checker.schema ?? validator) as TSchema, value);
}

function fieldErrors(failures: Iterable<ValueError>, part: Part): FieldError[] {
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const valueError of failures) {
    const field = fieldName(valueError, part);
    if (seen.has(field)) continue; // a field's first error is the one to fix first
    seen.add(field);
    result.push({ field, ...describe(valueError, part) });
    if (result.length === MAX_FIELD_ERRORS) break;
  }
  return result;
}

function refused(part: Part, failures: Iterable<ValueError>): ApiError {
  const errors = fieldErrors(failures, part);
  const summary = errors.map((e) => `${e.field} ${e.message}`).join("; ");
  // A body that parses but breaks the rules is 422; a bad path id or header is 400.
  if (part === "body") return new ApiError(422, "VALIDATION_ERROR", `The request body is invalid: ${summary}.`, errors);
  const name = part === "params" ? "path" : part;
  return new ApiError(400, "VALIDATION_ERROR", `The request ${name} ${name === "headers" ? "are" : "is"} invalid: ${summary}.`, errors);
}

/** What a request answers when `schema` refuses `value` as its `part`: how the OpenAPI document shows a refusal. */
export const invalidRequest = (part: Part, schema: TSchema, value: unknown): ApiError => refused(part, Value.Errors(schema, value));

export const databaseUnavailable = () => serviceUnavailable("The database is unavailable; retry shortly.");

/** Maps whatever a request raised to the error the client sees. */
export function toApiError(code: string | number, error: unknown, method: string): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ValidationError) return refused(error.type, valueErrors(error));
  if (error instanceof ParseError) {
    // Elysia wraps what our body parser throws (413, 415, 408, bad JSON) in its ParseError.
    if (error.cause instanceof ApiError) return error.cause;
    return new ApiError(400, "VALIDATION_ERROR", "The request body could not be parsed; send a JSON object.");
  }
  // Nothing decoded from the path is echoed back.
  if (code === "NOT_FOUND")
    return new ApiError(404, "NOT_FOUND", `No ${method} route matches this path; the API is under /api/v1, see /docs.`);
  switch (classifyDatabaseError(error)) {
    case "unreachable":
    case "unavailable":
      return databaseUnavailable();
    case "invalid-input":
      return new ApiError(422, "VALIDATION_ERROR", "The database refused a value in the request; check its length and characters.");
  }
  return serverError;
}
