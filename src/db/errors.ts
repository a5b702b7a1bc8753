// What a driver error means for the caller, whichever driver raised it.

export type DatabaseFault = "unavailable" | "invalid-input";

// SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator
// intervention (57P01 admin shutdown: how Neon closes idle connections; 57014 is a
// cancelled statement, our statement_timeout). 22 data exception, 23 integrity violation.
const UNAVAILABLE_SQLSTATE = /^(08|53|57)/;
const INVALID_INPUT_SQLSTATE = /^(22|23)/;

// Errors raised below SQL: sockets, TLS, WebSockets and the drivers' own timeouts.
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ConnectionRefused",
  "ConnectionClosed",
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_LIFETIME_TIMEOUT",
  "ERR_POSTGRES_TLS_NOT_AVAILABLE",
]);
const UNAVAILABLE_MESSAGE =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|connection refused|socket|websocket|closed|econnrefused|database unavailable/i;

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

function sqlState(error: unknown): string | undefined {
  // pg and PGlite put SQLSTATE in `code`; Bun's client in `errno`.
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  for (const value of [code, errno]) {
    if (typeof value === "string" && /^[0-9A-Z]{5}$/.test(value)) return value;
  }
  return undefined;
}

export function classifyDatabaseError(error: unknown): DatabaseFault | undefined {
  for (const cause of causes(error)) {
    const state = sqlState(cause);
    if (state && UNAVAILABLE_SQLSTATE.test(state)) return "unavailable";
    if (state && INVALID_INPUT_SQLSTATE.test(state)) return "invalid-input";
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return "unavailable";
    // Only the innermost error's message: Drizzle's wrapper quotes the query and its parameters.
    if (!state && !cause.cause && UNAVAILABLE_MESSAGE.test(cause.message)) return "unavailable";
  }
  return undefined;
}
