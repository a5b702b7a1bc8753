// The runQuery around every database call: a write is never sent twice, a read is, and a database
// known to be down is not tried at all.
import { expect, test } from "bun:test";
import { createCircuit, DatabaseDownError } from "../../src/db/circuit";
import { createQueryRunner } from "../../src/db/run-query";
import { createLogger } from "../../src/log";

// The errors Bun's client raises, as classified in src/db/errors.ts (test/db/errors.test.ts covers each driver's).
const dropped = () => Object.assign(new Error("Connection closed"), { code: "ERR_POSTGRES_CONNECTION_CLOSED" });
const refused = () => Object.assign(new Error("Failed to connect"), { code: "ERR_POSTGRES_CONNECTION_REFUSED" });

function budgetWith(probe: () => Promise<void> = async () => {}) {
  const circuit = createCircuit({ probe, logger: createLogger("silent"), suspectProbes: 1 });
  return { circuit, runQuery: createQueryRunner({ budgetMs: 2000, circuit }) };
}

/** Work that fails the first `failures` times with `error`, then answers. */
function flaky(failures: number, error: () => Error) {
  let attempts = 0;
  return {
    attempts: () => attempts,
    work: async () => {
      attempts++;
      if (attempts <= failures) throw error();
      return "answer";
    },
  };
}

test("a write whose connection dropped is not sent again: the client decides", async () => {
  const { runQuery } = budgetWith();
  const write = flaky(1, dropped);
  await expect(runQuery("create_todo", write.work)).rejects.toThrow("Connection closed");
  expect(write.attempts()).toBe(1);
});

test("a read whose connection dropped is read again within the budget", async () => {
  const { runQuery } = budgetWith();
  const read = flaky(1, dropped);
  expect(await runQuery("get_todo", read.work, { idempotent: true })).toBe("answer");
  expect(read.attempts()).toBe(2);
});

test("a connection that cannot be made opens the circuit: the next call is not tried at all", async () => {
  const { runQuery, circuit } = budgetWith(async () => {
    throw refused();
  });
  const first = flaky(1, refused);
  await expect(runQuery("get_todo", first.work, { idempotent: true })).rejects.toThrow("Failed to connect");
  expect(first.attempts()).toBe(1);
  expect(circuit.state()).toBe("open");
  const next = flaky(0, refused);
  await expect(runQuery("get_todo", next.work, { idempotent: true })).rejects.toBeInstanceOf(DatabaseDownError);
  expect(next.attempts()).toBe(0);
});
