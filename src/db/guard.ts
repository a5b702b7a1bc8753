// Every database call of a request runs inside a guard: a time budget, and retries only
// where repeating cannot apply a write twice.
import { classifyDatabaseError, DatabaseUnavailableError } from "./errors";

export type Guard = <T>(work: () => Promise<T>, options?: { idempotent?: boolean }) => Promise<T>;

export type GuardOptions = {
  /** The whole budget of one call, retries included. */
  budgetMs: number;
  /** False until migrations have run: until then nothing can succeed. */
  isReady?: () => boolean;
};

// A Neon compute waking from zero takes a moment: back off 100 ms, 200 ms, ... up to 1 s.
const backoff = (attempt: number) => Math.min(1000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`the database did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function createGuard({ budgetMs, isReady = () => true }: GuardOptions): Guard {
  return async (work, { idempotent = false } = {}) => {
    if (!isReady()) throw new DatabaseUnavailableError("the database is not ready yet");
    const deadline = Date.now() + budgetMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await within(work(), Math.max(1, deadline - Date.now()));
      } catch (error) {
        const fault = classifyDatabaseError(error);
        // A write is repeated only when it certainly never reached the database.
        const retryable = fault === "unreachable" || (idempotent && fault === "unavailable");
        const wait = backoff(attempt);
        // DatabaseUnavailableError here is our own deadline: the budget is spent.
        if (!retryable || error instanceof DatabaseUnavailableError || Date.now() + wait >= deadline) throw error;
        await Bun.sleep(wait);
      }
    }
  };
}
