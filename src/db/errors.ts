// What a driver error means for the caller, whichever driver raised it.

/**
 * - unreachable: no connection could be made, so the statement was never sent (safe to retry);
 * - unavailable: the database went away, possibly after the statement was sent;
 * - invalid-input: the database refused a value the client sent.
 */
export type DatabaseFault = "unreachable" | "unavailable" | "invalid-input";

/** Raised by the service itself when the database does not answer in time or is not ready. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
}

// 57P03 "the database system is starting up" and 53300 "too many connections" refuse a new session.
const UNREACHABLE_SQLSTATE = new Set(["57P03", "53300"]);
// SQLSTATE classes: 08 connection exception, 40 transaction rollback (a deadlock or serialization
// failure: nothing was applied, and the same request may well pass a moment later), 53 insufficient
// resources, 57 operator intervention (57P01 admin shutdown is how Neon closes idle connections; 57014
// is our statement_timeout).
const UNAVAILABLE_SQLSTATE = /^(08|40|53|57)/;
// 22 data exception, 23 integrity constraint violation.
const INVALID_INPUT_SQLSTATE = /^(22|23)/;

// Errors raised while opening a connection, below SQL.
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_TLS_NOT_AVAILABLE",
]);
// The Neon driver: a WebSocket that never opened, or pg's pool giving up on a new connection.
// Bun's client, when a connect attempt times out: "Connection closed before the connection was established".
const UNREACHABLE_MESSAGE =
  /^WebSocket connection to .* failed|timeout exceeded when trying to connect|before the connection was established/i;

const UNAVAILABLE_CODES = new Set(["ECONNRESET", "ETIMEDOUT", "EPIPE", "ERR_POSTGRES_CONNECTION_CLOSED", "ERR_POSTGRES_IDLE_TIMEOUT"]);
const UNAVAILABLE_MESSAGE = /connection terminated|connection closed|socket hang up|not queryable/i;

/**
 * The chain of causes: Drizzle wraps driver errors in DrizzleQueryError, and the Neon driver
 * passes on a WebSocket's ErrorEvent, whose `error` holds the real Error.
 */
function* causes(error: unknown): Generator<Error> {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    if (current instanceof Error) yield current;
    const { cause, error: inner } = current as { cause?: unknown; error?: unknown };
    current = cause ?? inner;
  }
}

function sqlState(error: Error): string | undefined {
  // pg and PGlite put SQLSTATE in `code`; Bun's client in `errno`.
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  for (const value of [code, errno]) {
    if (typeof value === "string" && /^[0-9A-Z]{5}$/.test(value)) return value;
  }
  return undefined;
}

function classifyOne(error: Error): DatabaseFault | undefined {
  if (error instanceof DatabaseUnavailableError) return "unavailable";
  // Socket codes first: EPIPE and EPERM would pass for five-character SQLSTATEs.
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return "unreachable";
  if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return "unavailable";
  const state = sqlState(error);
  if (state) {
    if (UNREACHABLE_SQLSTATE.has(state)) return "unreachable";
    if (UNAVAILABLE_SQLSTATE.test(state)) return "unavailable";
    if (INVALID_INPUT_SQLSTATE.test(state)) return "invalid-input";
    return undefined;
  }
  // Only the innermost error's message: Drizzle's wrapper quotes the query and its parameters.
  if (error.cause) return undefined;
  if (UNREACHABLE_MESSAGE.test(error.message)) return "unreachable";
  if (UNAVAILABLE_MESSAGE.test(error.message)) return "unavailable";
  return undefined;
}

export function classifyDatabaseError(error: unknown): DatabaseFault | undefined {
  for (const cause of causes(error)) {
    const fault = classifyOne(cause);
    if (fault) return fault;
  }
  return undefined;
}
