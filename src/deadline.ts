// A promise with a deadline: one promise and one timer per call (it runs on every database call and
// every request body), no Promise.race.

/** `work`'s outcome, or `late()`'s error once `ms` have passed without one. */
export function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), ms);
    // Promise.resolve: a Drizzle query is a thenable whose then() may throw as it builds the SQL.
    Promise.resolve(work).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
