// What a run of the benchmark is told by its environment; README.md in bench/ lists these.

export type Settings = {
  /** A server where the bench may create and drop its own database. */
  adminUrl: string;
  durationS: number;
  warmupS: number;
  /** The warm-up before a case's first round: a process's first requests on a route run before the JIT has compiled it. */
  firstWarmupS: number;
  connections: number;
  threads: number;
  /** DB_POOL_MAX for the service and the floor alike. */
  poolMax: number;
  /** The open-loop rate, as a fraction of the service's closed-loop throughput. */
  rateFraction: number;
  rounds: number;
  startupRuns: number;
  /** Only the load cases whose names contain one of these (BENCH_CASES, comma-separated); all when empty. */
  cases: string[];
  /** A commit whose service also runs every chosen case, beside this checkout's (BENCH_BASELINE). */
  baseline?: string;
};

function number(name: string, fallback: number, { min = 1, integer = true } = {}): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be ${integer ? "an integer" : "a number"} of at least ${min}, got "${raw}"`);
  }
  return value;
}

export function readSettings(): Settings {
  return {
    adminUrl: process.env.BENCH_DATABASE_URL?.trim() || "postgres://postgres@127.0.0.1:5432/postgres",
    durationS: number("BENCH_DURATION", 6),
    warmupS: number("BENCH_WARMUP", 3, { min: 0 }),
    firstWarmupS: number("BENCH_FIRST_WARMUP", 10, { min: 0 }),
    connections: number("BENCH_CONNECTIONS", 32),
    threads: number("BENCH_THREADS", 2),
    poolMax: number("BENCH_POOL_MAX", 10),
    rateFraction: number("BENCH_RATE_FRACTION", 0.5, { min: 0.01, integer: false }),
    rounds: number("BENCH_ROUNDS", 5),
    startupRuns: number("BENCH_STARTUP_RUNS", 5),
    cases: (process.env.BENCH_CASES ?? "")
      .split(",")
      .map((part) => part.trim().toLowerCase())
      .filter(Boolean),
    baseline: process.env.BENCH_BASELINE?.trim() || undefined,
  };
}
