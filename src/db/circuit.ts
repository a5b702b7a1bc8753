// The database circuit: once a connection cannot be made, the database is known to be down and
// requests answer 503 at once instead of each waiting out its budget. One background probe
// closes the circuit as soon as a round trip succeeds again.
import { errorFields, type Logger } from "../log";
import { classifyDatabaseError, DatabaseUnavailableError } from "./errors";

/** Thrown instead of trying the database while it is known to be down. */
export class DatabaseDownError extends DatabaseUnavailableError {
  override name = "DatabaseDownError";
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
};

// DB_POOL_MAX's default: how many closed connections a pool may hold at once.
const PROBES_THROUGH_DROPS = 10;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function createCircuit({ probe, logger, minProbeDelayMs = 100, maxProbeDelayMs = 2000 }: CircuitOptions): Circuit {
  let downSince: number | undefined;
  let suspecting = false;

  async function probeUntilUp() {
    for (let delay = minProbeDelayMs; ; delay = Math.min(maxProbeDelayMs, delay * 2)) {
      await sleep(delay);
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

  // The pool may hold more connections the server closed (57P01 closes them all at once), and the pool
  // discards each as it fails: a probe meeting one is the same drop again, so it is tried again, up to a
  // pool's worth of connections, before the database counts as down.
  async function probeThroughDrops() {
    for (let attempt = 1; ; attempt++) {
      try {
        return await probe();
      } catch (error) {
        const dropped = classifyDatabaseError(error) === "unavailable" && !(error instanceof DatabaseUnavailableError);
        if (!dropped || attempt >= PROBES_THROUGH_DROPS) throw error;
      }
    }
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
      probeThroughDrops()
        .catch(trip)
        .finally(() => {
          suspecting = false;
        });
    },
  };
}
