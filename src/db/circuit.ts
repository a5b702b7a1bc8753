// The database circuit: once a connection cannot be made, the database is known to be down and
// requests answer 503 at once instead of each waiting out its budget. One background probe
// closes the circuit as soon as a round trip succeeds again.
import { backoff } from "../backoff";
import { errorFields, type Logger } from "../log";
import { classifyDatabaseError, DatabaseUnavailableError } from "./errors";

/**
 * Thrown instead of trying the database while it is known to be down, or not ready yet at start-up:
 * those states are logged when they change (or by the start-up loop), not once per request.
 */
export class DatabaseDownError extends DatabaseUnavailableError {
  override name = "DatabaseDownError";
}

/** Migrations have not run yet at start-up. */
export class DatabaseNotReadyError extends DatabaseDownError {
  override name = "DatabaseNotReadyError";
}

export type CircuitState = "closed" | "open";

export type Circuit = {
  state(): CircuitState;
  /** Throws DatabaseDownError while the database is known to be down. */
  check(): void;
  /** A connection could not be made: open the circuit and start probing. */
  trip(cause: unknown): void;
  /** A connection dropped: probe once now, and open the circuit if the database cannot be reached. */
  suspect(): void;
};

export type CircuitOptions = {
  /** One round trip to the database; throws when it cannot answer. */
  probe: () => Promise<void>;
  logger: Logger;
  /** First wait between probes, doubled after each failure up to maxProbeDelayMs. */
  minProbeDelayMs?: number;
  maxProbeDelayMs?: number;
  /** Probes that must all fail before a dropped connection counts as an outage: one more than the pool holds. */
  suspectProbes: number;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function createCircuit({ probe, logger, minProbeDelayMs = 100, maxProbeDelayMs = 2000, suspectProbes }: CircuitOptions): Circuit {
  let downSince: number | undefined;
  let suspecting = false;

  async function probeUntilUp() {
    for (let attempt = 0; ; attempt++) {
      await sleep(backoff(attempt, { firstMs: minProbeDelayMs, maxMs: maxProbeDelayMs }));
      try {
        await probe();
        break;
      } catch {
        // Still down: the cause was logged when the circuit opened.
      }
    }
    logger.info("database is back: serving requests again", { down_ms: Date.now() - (downSince ?? Date.now()) });
    downSince = undefined;
  }

  // A pool may hold as many connections the server closed as it holds at all (a restart, or Neon
  // closing idle ones): a probe that lands on one proves nothing, and each such failure takes one out
  // of the pool. Only when a fresh connection fails too, or one cannot be made at all, is it an outage.
  async function confirmUp() {
    let cause: unknown;
    for (let attempt = 0; attempt < suspectProbes; attempt++) {
      try {
        return await probe();
      } catch (error) {
        cause = error;
        if (classifyDatabaseError(error) === "unreachable") break;
      }
    }
    trip(cause);
  }

  function trip(cause: unknown) {
    if (downSince !== undefined) return;
    downSince = Date.now();
    logger.warn("database is down: answering 503 at once until a probe reaches it", errorFields(cause, { stack: false }));
    void probeUntilUp();
  }

  return {
    state: () => (downSince === undefined ? "closed" : "open"),
    check() {
      if (downSince !== undefined) throw new DatabaseDownError("the database is down; the service is waiting for it to come back");
    },
    trip,
    suspect() {
      if (suspecting || downSince !== undefined) return;
      suspecting = true;
      void confirmUp().finally(() => {
        suspecting = false;
      });
    },
  };
}
