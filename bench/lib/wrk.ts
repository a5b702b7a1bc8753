// Closed-loop load with wrk: a fixed number of connections, each sending its next request as soon
// as the last one is answered. Gives the maximum throughput; its latencies hide queueing (see open-loop.ts).
import { fileURLToPath } from "node:url";

import { logDir } from "./processes";

/** What to send: one request, or a cycle over several paths. */
export type Load = {
  baseUrl: string;
  paths: string[];
  method: "GET" | "POST" | "PATCH" | "DELETE";
  userId: string;
  userIds?: string[];
  body?: string;
  /** Sent with every request, e.g. If-None-Match. */
  headers?: Record<string, string>;
  /** Every request carries an Idempotency-Key of its own, starting with this. */
  uniqueKeyPrefix?: string;
  /** Every request names a todo of its own: this path and a numbered id (bench/wrk.lua), for userIds in turn. */
  numberedPath?: string;
  /**
   * Puts the data back as it was before the case's first run. Called by whoever runs the load, before each
   * run and outside what it measures (time and CPU alike).
   */
  prepare?: () => Promise<void>;
};
export type LoadShape = { durationS: number; connections: number; threads: number };

export type ClosedLoopResult = {
  rps: number;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses with status > 399. */
  httpErrors: number;
  /** Connect, read and write errors, and timeouts. */
  socketErrors: number;
};

type WrkSummary = {
  requests: number;
  duration_us: number;
  connect_errors: number;
  read_errors: number;
  write_errors: number;
  timeouts: number;
  http_errors: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
};

const script = fileURLToPath(new URL("../wrk.lua", import.meta.url));

export async function runWrk(load: Load, shape: LoadShape): Promise<ClosedLoopResult> {
  const args = ["-t", `${shape.threads}`, "-c", `${shape.connections}`, "-d", `${shape.durationS}s`, "--timeout", "5s", "-s", script];
  const pathsFile = load.paths.length > 1 ? `${logDir}/wrk-paths.txt` : undefined;
  if (pathsFile) await Bun.write(pathsFile, `${load.paths.join("\n")}\n`);
  const usersFile = load.userIds ? `${logDir}/wrk-users.txt` : undefined;
  if (usersFile) await Bun.write(usersFile, `${load.userIds?.join("\n")}\n`);
  const proc = Bun.spawn(["wrk", ...args, load.baseUrl + load.paths[0]], {
    env: {
      ...process.env,
      WRK_METHOD: load.method,
      WRK_USER_ID: load.userId,
      WRK_BODY: load.body,
      WRK_PATHS_FILE: pathsFile,
      WRK_USERS_FILE: usersFile,
      WRK_HEADERS: Object.entries(load.headers ?? {})
        .map(([name, value]) => `${name}: ${value}`)
        .join("\n"),
      WRK_UNIQUE_KEY_PREFIX: load.uniqueKeyPrefix,
      WRK_NUMBERED_PATH: load.numberedPath,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = stdout.split("\n").find((text) => text.startsWith("BENCH_JSON "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${stderr || stdout}`);
  const summary = JSON.parse(line.slice("BENCH_JSON ".length)) as WrkSummary;
  const ms = (us: number) => us / 1000;
  return {
    rps: summary.requests / (summary.duration_us / 1e6),
    requests: summary.requests,
    p50Ms: ms(summary.p50_us),
    p90Ms: ms(summary.p90_us),
    p99Ms: ms(summary.p99_us),
    maxMs: ms(summary.max_us),
    httpErrors: summary.http_errors,
    socketErrors: summary.connect_errors + summary.read_errors + summary.write_errors + summary.timeouts,
  };
}
