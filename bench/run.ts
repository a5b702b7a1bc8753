// `bun run bench`: the service against a hand-written floor (bench/floor.ts) on the same, fresh
// Postgres database, then its memory and start-up. How to read the numbers: bench/README.md.

import { cpus, loadavg, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { startNeonRelay } from "../test/support/neon-relay";
import { exportBaseline } from "./lib/baseline";
import { checkSameAnswers, checkSameWrites, checkStatuses, type Probe } from "./lib/check";
import { createBenchDatabase, postgresVersion } from "./lib/database";
import { cursorAfter, deleteUserIndex, type Fixtures, numberedTodoId, type SeedShape, seed } from "./lib/fixtures";
import { measureIdTiming } from "./lib/id-timing";
import { type Comparison, compare, launchComparisons, type ObservabilityResult, tracedCases } from "./lib/observability";
import { type OpenLoopResult, runOpenLoop } from "./lib/open-loop";
import { measureOutage } from "./lib/outage";
import { type CpuPerRequest, countCpu, type Launched, launch, logDir, readMemory, sampleRss, waitForOk } from "./lib/processes";
import { type BaselineResult, type Pair, type Results, renderMarkdown, totalErrors } from "./lib/report";
import { readSettings, type Settings } from "./lib/settings";
import { measureStartup, postgresRestart, serviceScript, summarise, timeFirstAnswers } from "./lib/startup";
import { type ClosedLoopResult, type Load, runWrk } from "./lib/wrk";

type Target = keyof Pair<unknown>;
type Case = {
  name: string;
  method: Load["method"];
  paths: string[];
  userId: (target: Target) => string;
  /** Requests take these users in turn instead. */
  userIds?: (target: Target) => string[];
  body?: string;
  headers?: Record<string, string>;
  /** Each request with an Idempotency-Key of its own. */
  uniqueKeys?: boolean;
  /** Also measured at a fixed rate. */
  openLoop?: boolean;
  /** Concurrent connections when not the settings' (the memory case: 16 clients). */
  connections?: number;
  /** Each request deletes a todo of its own under this path (bench/wrk.lua), for userIds in turn. */
  numberedPath?: string;
  /** Puts back what the case changes, before each of its runs (see Load). */
  prepare?: () => Promise<void>;
};

/** The case whose peak resident memory is reported against the 150 MB target. */
const memoryCase = "list 100k, 16 clients (memory)";

const floorScript = fileURLToPath(new URL("./floor.ts", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results.md", import.meta.url));
const log = (line: string) => console.error(line);

/** The fixtures, and the cursor after the 50,000th newest todo of user100k as the service writes it. */
type Seeded = Fixtures & { deepCursor: string };

function defineCases(f: Seeded): Case[] {
  return [
    { name: "retrieve one", method: "GET", paths: [`/api/v1/todos/${f.singleTodoId}`], userId: () => f.singleUser, openLoop: true },
    // The seeded todo was never changed: version 1.
    {
      name: "retrieve with matching If-None-Match",
      method: "GET",
      paths: [`/api/v1/todos/${f.singleTodoId}`],
      userId: () => f.singleUser,
      headers: { "If-None-Match": `"${f.singleTodoId}.1"` },
    },
    { name: "list 50", method: "GET", paths: ["/api/v1/todos"], userId: () => f.user50 },
    { name: "list with limit=200", method: "GET", paths: ["/api/v1/todos?limit=200"], userId: () => f.user1000, openLoop: true },
    { name: "list 100k, first page", method: "GET", paths: ["/api/v1/todos"], userId: () => f.user100k },
    { name: "list 100k, page past the 50,000th", method: "GET", paths: [`/api/v1/todos?cursor=${f.deepCursor}`], userId: () => f.user100k },
    {
      name: memoryCase,
      method: "GET",
      paths: ["/api/v1/todos", `/api/v1/todos?cursor=${f.deepCursor}`, "/api/v1/todos?limit=200"],
      userId: () => f.user100k,
      connections: 16,
    },
    {
      name: "create",
      method: "POST",
      paths: ["/api/v1/todos"],
      userId: (target) => f.creators[target][0] as string,
      userIds: (target) => f.creators[target],
      body: JSON.stringify({ title: "Benchmark todo", description: "Created by bun run bench" }),
    },
    {
      name: "create with an Idempotency-Key",
      method: "POST",
      paths: ["/api/v1/todos"],
      userId: (target) => f.keyedCreators[target][0] as string,
      userIds: (target) => f.keyedCreators[target],
      body: JSON.stringify({ title: "Benchmark todo", description: "Created by bun run bench" }),
      uniqueKeys: true,
    },
    // Issue 28: a create costs the same for a user with 9,000 todos as for a new one. Both cases have the same
    // shape (64 users in turn, shared by both sides, put back before each run), so only the users' todos differ.
    {
      name: "create for users with 9000 todos",
      method: "POST",
      paths: ["/api/v1/todos"],
      userId: () => f.heavyCreators[0] as string,
      userIds: () => f.heavyCreators,
      body: JSON.stringify({ title: "Benchmark todo", description: "Created by bun run bench" }),
      prepare: f.restoreHeavyCreators,
    },
    {
      name: "create for new users",
      method: "POST",
      paths: ["/api/v1/todos"],
      userId: () => f.newCreators[0] as string,
      userIds: () => f.newCreators,
      body: JSON.stringify({ title: "Benchmark todo", description: "Created by bun run bench" }),
      prepare: f.restoreNewCreators,
    },
    // Each request changes the next of 1000 todos, each of its own user: every change locks its user's row, so
    // writers on one user's todos would queue on that lock. Postgres writes a new row version even when the
    // value does not change, so a constant body is a real write every time.
    {
      name: "update",
      method: "PATCH",
      paths: f.updateTodoIds.map((id) => `/api/v1/todos/${id}`),
      userId: () => f.updateUsers[0] as string,
      userIds: () => f.updateUsers,
      body: '{"is_completed":true}',
    },
    // Each request deletes a todo of its own, of 1000 users in turn; all are put back before each run.
    {
      name: "delete",
      method: "DELETE",
      paths: ["/api/v1/todos"],
      numberedPath: "/api/v1/todos/",
      userId: () => f.deleteUsers[0] as string,
      userIds: () => f.deleteUsers,
      prepare: f.refillDeletable,
    },
  ];
}

/** Every case once on each side, plus the answers that must match exactly. */
function probesFor(f: Seeded): Probe[] {
  const base = { userId: f.singleUser, path: `/api/v1/todos/${f.singleTodoId}` };
  return [
    { name: "retrieve one", method: "GET", status: 200, ...base },
    { name: "list 50", method: "GET", path: "/api/v1/todos", userId: f.user50, status: 200, count: 50 },
    { name: "list with limit=200", method: "GET", path: "/api/v1/todos?limit=200", userId: f.user1000, status: 200, count: 200 },
    { name: "list 100k, first page", method: "GET", path: "/api/v1/todos", userId: f.user100k, status: 200, count: 50 },
    {
      name: "list 100k, page past the 50,000th",
      method: "GET",
      path: `/api/v1/todos?cursor=${f.deepCursor}`,
      userId: f.user100k,
      status: 200,
      count: 50,
    },
    {
      name: "create",
      method: "POST",
      path: "/api/v1/todos",
      userId: f.creators.service[0] as string,
      body: '{"title":"Probe"}',
      status: 201,
    },
    {
      name: "update",
      method: "PATCH",
      path: `/api/v1/todos/${f.updateTodoIds[0]}`,
      userId: f.updateUsers[0] as string,
      body: '{"is_completed":false}',
      status: 200,
    },
    // Two of the delete case's todos, one for each side (a run puts them back).
    {
      name: "delete",
      method: "DELETE",
      path: `/api/v1/todos/${numberedTodoId(0, 1)}`,
      userId: f.deleteUsers[deleteUserIndex(0, 1, f.deleteUsers.length)] as string,
      floorPath: `/api/v1/todos/${numberedTodoId(0, 2)}`,
      floorUserId: f.deleteUsers[deleteUserIndex(0, 2, f.deleteUsers.length)] as string,
      status: 204,
    },
    { name: "another user's todo", method: "GET", path: base.path, userId: f.user50, status: 404 },
  ];
}

async function describeMachine(settings: Settings): Promise<Results["machine"]> {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    memoryGb: totalmem() / 2 ** 30,
    kernel: release(),
    bun: Bun.version,
    postgres: await postgresVersion(settings.adminUrl),
    loadAverage: loadavg(),
  };
}

const loadOf = (c: Case, target: Target, process: Launched): Load => ({
  baseUrl: process.baseUrl,
  paths: c.paths,
  method: c.method,
  userId: c.userId(target),
  userIds: c.userIds?.(target),
  body: c.body,
  headers: c.headers,
  // Distinct per side and per run, so no round replays another's keys.
  uniqueKeyPrefix: c.uniqueKeys ? `${target}-${crypto.randomUUID()}` : undefined,
  numberedPath: c.numberedPath,
  prepare: c.prepare,
});

type CaseResult = {
  closed: Pair<ClosedLoopResult>;
  ratios: number[];
  rounds: Pair<number[]>;
  cpu: Pair<CpuPerRequest>;
  open?: Pair<OpenLoopResult>;
  peakRssMb: Pair<number>;
  baseline?: BaselineResult;
};

/** The middle value: with three rounds, one lucky (or unlucky) round cannot move it. */
const median = <T>(values: T[], by: (value: T) => number): T =>
  values.toSorted((a, b) => by(a) - by(b))[Math.floor((values.length - 1) / 2)] as T;

/** The case against the service with metrics off, and (on a couple of cases) with tracing on. */
async function measureObservability(
  settings: Settings,
  c: Case,
  processes: Pair<Launched>,
  comparison: Comparison,
  into: ObservabilityResult,
) {
  const shape = {
    connections: c.connections ?? settings.connections,
    threads: settings.threads,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
  };
  // Both sides are the service: the same users, and (for writes) the same creators.
  const load = (target: Launched) => loadOf(c, "service", target);
  const metrics = await compare(c.name, load, comparison.metricsOff, processes.service, shape);
  log(`  ${c.name} · metrics off ${Math.round(metrics.without)} req/s, on ${Math.round(metrics.with)} req/s`);
  into.metrics.push(metrics);
  if (!tracedCases.includes(c.name)) return;
  const tracing = await compare(c.name, load, processes.service, comparison.traced, shape);
  log(`  ${c.name} · tracing off ${Math.round(tracing.without)} req/s, on ${Math.round(tracing.with)} req/s`);
  into.tracing.push(tracing);
}

/** BENCH_BASELINE's service on its own database, and the same cases defined on that database's fixtures. */
type Baseline = { commit: string; process: Launched; cases: Case[] };
type Side = "service" | "floor" | "baseline";

/**
 * One case, everything: the closed loop on both sides back to back (so a burst of background load hits both
 * alike; the order rotates from round to round; each side's median round is reported, and the ratio of each
 * round's pair), then the open loop. The first round warms each side up longer: with 3 s, the service's first
 * round of every case was its slowest, by up to a quarter (its JIT had not yet compiled that route), and the
 * floor's was not. Reads run before the write cases grow the table, so every read is measured on the seeded data.
 * With a baseline, it takes its turn in every round too, with the case as defined on its own database.
 */
async function runCase(settings: Settings, c: Case, processes: Pair<Launched>, baseline?: Baseline): Promise<CaseResult> {
  const shape = { connections: c.connections ?? settings.connections, threads: settings.threads };
  const baselineCase = baseline?.cases.find(({ name }) => name === c.name);
  // The baseline plays the service's part on its own database: the service's creators there, say.
  const sides: { side: Side; process: Launched; load: () => Load }[] = [
    { side: "service", process: processes.service, load: () => loadOf(c, "service", processes.service) },
    { side: "floor", process: processes.floor, load: () => loadOf(c, "floor", processes.floor) },
  ];
  if (baseline && baselineCase) {
    sides.push({ side: "baseline", process: baseline.process, load: () => loadOf(baselineCase, "service", baseline.process) });
  }
  const rounds: Record<Side, ClosedLoopResult[]> = { service: [], floor: [], baseline: [] };
  const peakRssMb = { service: 0, floor: 0 };
  const cpu: Record<Side, CpuPerRequest[]> = { service: [], floor: [], baseline: [] };
  for (let round = 0; round < settings.rounds; round++) {
    const first = round % sides.length;
    for (const { side, process: launched, load: loadNow } of [...sides.slice(first), ...sides.slice(0, first)]) {
      const warmupS = round === 0 ? Math.max(settings.warmupS, settings.firstWarmupS) : settings.warmupS;
      if (warmupS > 0) {
        const warmup = loadNow();
        await warmup.prepare?.();
        await runWrk(warmup, { ...shape, durationS: warmupS });
      }
      // A load of its own, not the warm-up's: with keys of their own, the measured run replays none of the warm-up's.
      const load = loadNow();
      await load.prepare?.();
      const sampler = sampleRss(launched.proc.pid);
      const cpuCount = await countCpu(launched.proc.pid);
      const result = await runWrk(load, { ...shape, durationS: settings.durationS });
      cpu[side].push(await cpuCount.stop(result.requests));
      const peak = await sampler.stop();
      if (side !== "baseline") peakRssMb[side] = Math.max(peakRssMb[side], peak);
      log(
        `  ${c.name} · ${side}: ${Math.round(result.rps)} req/s, ${summary(result.p50Ms, result.p99Ms, result.httpErrors + result.socketErrors)}${result.socketErrors > 0 ? ` (${result.socketErrors} on the socket)` : ""}`,
      );
      rounds[side].push(result);
    }
  }
  const closed = { service: median(rounds.service, (run) => run.rps), floor: median(rounds.floor, (run) => run.rps) };
  const ratiosTo = (other: ClosedLoopResult[]) => rounds.service.map((run, round) => run.rps / (other[round] as ClosedLoopResult).rps);
  const medianCpu = (runs: CpuPerRequest[]) => ({
    processUs: median(runs, (run) => run.processUs).processUs,
    machineUs: median(runs, (run) => run.machineUs).machineUs,
  });
  const open = c.openLoop ? await runOpenLoops(settings, c, processes, closed.service.rps) : undefined;
  return {
    closed,
    ratios: ratiosTo(rounds.floor),
    rounds: { service: rounds.service.map((run) => run.rps), floor: rounds.floor.map((run) => run.rps) },
    cpu: { service: medianCpu(cpu.service), floor: medianCpu(cpu.floor) },
    open,
    peakRssMb,
    baseline:
      baseline && rounds.baseline.length > 0
        ? { commit: baseline.commit, result: median(rounds.baseline, (run) => run.rps), ratios: ratiosTo(rounds.baseline) }
        : undefined,
  };
}

/** Both sides at the same fixed rate: a share of what the service sustained in the closed loop. */
async function runOpenLoops(settings: Settings, c: Case, processes: Pair<Launched>, serviceRps: number): Promise<Pair<OpenLoopResult>> {
  const rate = Math.max(1, Math.round(serviceRps * settings.rateFraction));
  const result: Partial<Pair<OpenLoopResult>> = {};
  for (const target of ["service", "floor"] as const) {
    const load = loadOf(c, target, processes[target]);
    const run = await runOpenLoop(load, rate, settings.warmupS, settings.durationS, settings.connections);
    log(`  ${c.name} at ${rate} req/s, open loop · ${target}: ${summary(run.p50Ms, run.p99Ms, run.errors)}`);
    result[target] = run;
  }
  return result as Pair<OpenLoopResult>;
}

const summary = (p50Ms: number, p99Ms: number, errors: number) =>
  `p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms${errors > 0 ? `, ${errors} ERRORS` : ""}`;

async function measureStartups(settings: Settings, databaseUrl: string) {
  const userId = crypto.randomUUID();
  const common = { LOG_LEVEL: "warn", DB_POOL_MAX: String(settings.poolMax) };
  const relay = startNeonRelay();
  try {
    return [
      await measureStartup(postgresRestart, { ...common, DATABASE_URL: databaseUrl, DATABASE_DRIVER: "bun" }, userId, settings.startupRuns),
      await measureStartup(
        "Postgres, Neon driver through the local WebSocket relay",
        { ...common, DATABASE_URL: databaseUrl, DATABASE_DRIVER: "neon", NEON_WS_PROXY: relay.proxy },
        userId,
        settings.startupRuns,
      ),
      await measureStartup(
        "embedded PGlite, `memory://` (migrations every time)",
        { ...common, PGLITE_DATA_DIR: "memory://" },
        userId,
        settings.startupRuns,
      ),
    ];
  } finally {
    await relay.stop();
  }
}

/**
 * BENCH_BASELINE's service: that commit exported, started on a database of its own (its migrations run), seeded
 * with the same fixtures as the schema it has, and checked to answer the probes as the API does.
 */
async function startBaseline(settings: Settings, ref: string, shape: SeedShape, cleanups: (() => Promise<void>)[]): Promise<Baseline> {
  const tree = await exportBaseline(ref);
  cleanups.push(async () => tree.remove());
  const database = await createBenchDatabase(settings.adminUrl);
  cleanups.push(database.drop);
  log(`baseline ${ref} (${tree.commit.slice(0, 12)}): database ${database.name}; starting its service`);
  const env = { DATABASE_URL: database.url, DATABASE_DRIVER: "bun", LOG_LEVEL: "warn", DB_POOL_MAX: String(settings.poolMax) };
  const baseline = launch(tree.script, env, "baseline");
  cleanups.push(baseline.stop);
  await waitForOk(baseline, "/ready");
  const seeded = await seed(database.url, shape);
  cleanups.push(seeded.close);
  const fixtures = { ...seeded, deepCursor: await cursorAfter(baseline.baseUrl, seeded.user100k, 50_000) };
  await checkStatuses(baseline.baseUrl, probesFor(fixtures));
  return { commit: tree.commit, process: baseline, cases: defineCases(fixtures) };
}

async function main(settings: Settings, cleanups: (() => Promise<void>)[]): Promise<Results> {
  const machine = await describeMachine(settings);
  const database = await createBenchDatabase(settings.adminUrl);
  cleanups.push(database.drop);
  log(`database ${database.name} created; starting the service`);

  const poolMax = String(settings.poolMax);
  const service = launch(
    serviceScript,
    { DATABASE_URL: database.url, DATABASE_DRIVER: "bun", LOG_LEVEL: "warn", DB_POOL_MAX: poolMax },
    "service",
  );
  cleanups.push(service.stop);
  const firstStart = summarise("Postgres, Bun SQL driver (first start: empty database, migrations run)", [
    await timeFirstAnswers(service, crypto.randomUUID()),
  ]);
  const seedShape = { threads: settings.threads, longestRunS: Math.max(settings.durationS, settings.warmupS, settings.firstWarmupS) };
  const seedingStarted = performance.now();
  const seeded = await seed(database.url, seedShape);
  cleanups.push(seeded.close);
  log(`seeded in ${((performance.now() - seedingStarted) / 1000).toFixed(0)} s`);
  const fixtures = { ...seeded, deepCursor: await cursorAfter(service.baseUrl, seeded.user100k, 50_000) };
  const floor = launch(floorScript, { DATABASE_URL: database.url, DB_POOL_MAX: poolMax }, "floor");
  cleanups.push(floor.stop);
  const floorAnsweredAt = await waitForOk(floor, "/api/v1/todos", { "x-user-id": fixtures.user50 });
  const floorStart = summarise("the floor, for reference (Postgres, one sample; it has no `/ready`)", [
    { readyMs: Number.NaN, firstRequestMs: floorAnsweredAt - floor.startedAt },
  ]);
  const processes = { service, floor };
  const comparison = await launchComparisons({
    DATABASE_URL: database.url,
    DATABASE_DRIVER: "bun",
    LOG_LEVEL: "warn",
    DB_POOL_MAX: poolMax,
  });
  cleanups.push(comparison.stop);
  const observability: ObservabilityResult = { metrics: [], tracing: [], spansReceived: 0 };
  const idle = { service: await readMemory(service.proc.pid), floor: await readMemory(floor.proc.pid) };

  await checkSameAnswers(service.baseUrl, floor.baseUrl, probesFor(fixtures));
  await checkSameWrites(service.baseUrl, floor.baseUrl, database.url);
  log("the service and the floor give the same answers and leave the same rows");
  const baseline = settings.baseline ? await startBaseline(settings, settings.baseline, seedShape, cleanups) : undefined;
  log("load:");
  const closedLoop: Results["closedLoop"] = [];
  const openLoop: Results["openLoop"] = [];
  let memoryCasePeakRssMb = { service: 0, floor: 0 };
  const chosen = (c: Case) => settings.cases.length === 0 || settings.cases.some((part) => c.name.toLowerCase().includes(part));
  for (const c of defineCases(fixtures).filter(chosen)) {
    const { closed, ratios, rounds, cpu, open, peakRssMb, baseline: againstBaseline } = await runCase(settings, c, processes, baseline);
    closedLoop.push({ name: c.name, result: closed, ratios, rounds, cpu, baseline: againstBaseline });
    if (open) openLoop.push({ name: c.name, result: open });
    if (c.name === memoryCase) memoryCasePeakRssMb = peakRssMb;
    await measureObservability(settings, c, processes, comparison, observability);
  }
  // Issue 28's event latency and memory per idle stream go here once the event stream exists (bench/README.md).
  observability.spansReceived = comparison.spansReceived();
  await comparison.stop();
  const hwm = { service: (await readMemory(service.proc.pid)).hwmMb, floor: (await readMemory(floor.proc.pid)).hwmMb };
  log("another user's id against a missing one:");
  const idTiming = await measureIdTiming(service.baseUrl, fixtures.user50, fixtures.singleTodoId);
  await Promise.all([service.stop(), floor.stop(), baseline?.process.stop()]);

  log("start-up:");
  const startup = [firstStart, ...(await measureStartups(settings, database.url)), floorStart];
  log("the database down:");
  const outage = await measureOutage(settings);
  const memoryOf = (target: Target) => ({ idle: idle[target], peakRssUnderLoadMb: memoryCasePeakRssMb[target], hwmMb: hwm[target] });
  return {
    date: new Date().toISOString(),
    machine,
    settings,
    closedLoop,
    openLoop,
    memory: { service: memoryOf("service"), floor: memoryOf("floor") },
    startup,
    outage,
    idTiming,
    observability,
  };
}

async function cleanUp(cleanups: (() => Promise<void>)[]) {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error) => log(`cleanup failed: ${error}`));
  }
}

const cleanups: (() => Promise<void>)[] = [];
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void cleanUp(cleanups).then(() => process.exit(130)));
}
try {
  const settings = readSettings();
  const results = await main(settings, cleanups);
  const markdown = renderMarkdown(results);
  // A run of some of the cases is a look, not a result: it does not replace the last full report.
  if (settings.cases.length === 0) await Bun.write(resultsFile, `${markdown}\n`);
  console.log(markdown);
  const errors = totalErrors(results);
  if (errors > 0) {
    log(`\nWARNING: ${errors} requests failed during the benchmark; the numbers above are not trustworthy.`);
    process.exitCode = 1;
  }
} finally {
  await cleanUp(cleanups);
  log(`the processes' output: ${logDir}/`);
}
