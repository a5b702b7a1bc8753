/** The wait before retry number `attempt` (from 0): doubling from firstMs up to maxMs, with jitter so retries do not march in step. */
export const backoff = (attempt: number, { firstMs, maxMs }: { firstMs: number; maxMs: number }): number =>
  Math.min(maxMs, firstMs * 2 ** attempt) * (0.5 + Math.random() / 2);
