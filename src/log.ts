// Structured logs: one JSON object per line on stdout, for whatever collects container output.
import { DrizzleQueryError } from "drizzle-orm";
import type { LogLevel } from "./config";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export type Fields = Record<string, unknown>;
export type Logger = Record<Exclude<LogLevel, "silent">, (msg: string, fields?: Fields) => void> & {
  /** Whether a line at this level would be written: skip building it otherwise. */
  enabled(level: Exclude<LogLevel, "silent">): boolean;
};

/** An error as log fields, with its cause chain (and its stack, unless it would only be noise). */
export function errorFields(error: unknown, { stack = true } = {}): Fields {
  if (!(error instanceof Error)) return { error: String(error) };
  const cause = error.cause instanceof Error ? errorFields(error.cause, { stack }) : undefined;
  // Drizzle's query errors quote the parameters in their message: todo text has no place in logs.
  const message = error instanceof DrizzleQueryError ? `Failed query: ${error.query}\nparams: [redacted]` : error.message;
  return {
    error: message,
    error_name: error.name,
    code: (error as { code?: unknown }).code,
    stack: stack ? error.stack?.replace(error.message, message) : undefined,
    cause,
  };
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (msg: string, fields: Fields = {}) => {
      if (rank[name] < rank[level]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level: name, msg, ...fields })}\n`);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), enabled: (name) => rank[name] >= rank[level] };
}
