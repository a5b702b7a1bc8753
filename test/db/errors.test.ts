// Which driver errors mean "retry later" (503), "your value" (422), or a bug (500).
import { expect, test } from "bun:test";
import { classifyDatabaseError, type DatabaseFault } from "../../src/db/errors";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const wrapped = (cause: unknown, message = "Failed query: select 1\nparams: ") => new Error(message, { cause });

test.each<[string, unknown, DatabaseFault | undefined]>([
  ["Bun: connection refused", withCode("Failed to connect", "ERR_POSTGRES_CONNECTION_REFUSED"), "unreachable"],
  [
    "Bun: a connect that timed out",
    withCode("Connection closed before the connection was established", "ERR_POSTGRES_CONNECTION_FAILED"),
    "unreachable",
  ],
  [
    "Neon: a WebSocket that never opened",
    { type: "error", error: new Error("WebSocket connection to 'wss://x/v2' failed: Failed to connect") },
    "unreachable",
  ],
  ["Postgres starting up (57P03)", withCode("the database system is starting up", "57P03"), "unreachable"],
  ["Neon closing an idle connection (57P01)", withCode("terminating connection due to administrator command", "57P01"), "unavailable"],
  ["a deadlock, rolled back (40P01)", withCode("deadlock detected", "40P01"), "unavailable"],
  ["a broken pipe", withCode("write EPIPE", "EPIPE"), "unavailable"],
  ["pg: connection terminated", new Error("Connection terminated unexpectedly"), "unavailable"],
  ["a value too long (22001)", withCode("value too long for type character varying(255)", "22001"), "invalid-input"],
  ["a syntax error, our bug (42601)", withCode("syntax error at or near", "42601"), undefined],
  ["an unknown error", new Error("something else"), undefined],
])("%s", (_, error, fault) => {
  expect(classifyDatabaseError(error)).toBe(fault);
  expect(classifyDatabaseError(wrapped(error))).toBe(fault);
});

test("words in the parameters Drizzle quotes do not make a bug look like an outage", () => {
  const bug = wrapped(withCode("syntax error", "42601"), "Failed query: insert ...\nparams: my socket was closed");
  expect(classifyDatabaseError(bug)).toBeUndefined();
  expect(classifyDatabaseError(new Error("Failed query: x\nparams: connection terminated", { cause: new Error("boom") }))).toBeUndefined();
});
