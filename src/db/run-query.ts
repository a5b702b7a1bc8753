// Every database call of a request goes through runQuery: the circuit (known down answers at once),
// a time budget, and retries only where repeating cannot apply a change twice.
import { backoff } from "../backoff";
import { within } from "../deadline";
import { type Circuit, DatabaseNotReadyError } from "./circuit";
import { classifyDatabaseError, DatabaseUnavailableError } from "./errors";

export type CallOptions = { idempotent?: boolean };
/** Runs one named database operation (the statement's name: logs, metrics and traces use it). */
export type RunQuery = <T>(operation: string, work: () => Promise<T>, options?: CallOptions) => Promise<T>;

export type QueryRunnerOptions = {
  /** The time budget of one call, retries included. */
  budgetMs: number;
  /** False until migrations have run: until then nothing can succeed. */
  isReady?: () => boolean;
  /** Known down: answer at once. A connection that cannot be made trips it. */
  circuit: Circuit;
};

/** `work`, failing as unavailable once `ms` have passed without an answer. */
export const answeredWithin = <T>(work: Promise<T>, ms: number): Promise<T> =>
  within(work, ms, () => new DatabaseUnavailableError(`the database did not answer within ${ms} ms`));

export function createQueryRunner({ budgetMs, isReady = () => true, circuit }: QueryRunnerOptions): RunQuery {
  return async (_operation, work, { idempotent = false } = {}) => {
    if (!isReady()) throw new DatabaseNotReadyError("the database is not ready yet");
    const deadline = Date.now() + budgetMs;
    for (let attempt = 0; ; attempt++) {
      circuit.check();
      try {
        return await answeredWithin(work(), Math.max(1, deadline - Date.now()));
      } catch (error) {
        const fault = classifyDatabaseError(error);
        // No connection could be made: every other request would wait for the same refusal.
        if (fault === "unreachable") {
          circuit.trip(error);
          throw error;
        }
        // Dropped, or too slow: one probe tells a database that went away from one bad connection.
        if (fault === "unavailable" && !(error instanceof DatabaseUnavailableError)) circuit.suspect();
        // A call marked idempotent (a read, or a keyed create, which its key admits once) is repeated when its
        // connection dropped; any other write never, as it may have been applied.
        const retryable = idempotent && fault === "unavailable";
        // A read whose connection dropped is tried again after about 100 ms, 200 ms, ... up to 1 s.
        const wait = backoff(attempt, { firstMs: 100, maxMs: 1000 });
        // DatabaseUnavailableError here is our own deadline: the budget is spent.
        if (!retryable || error instanceof DatabaseUnavailableError || Date.now() + wait >= deadline) throw error;
        await Bun.sleep(wait);
      }
    }
  };
}
