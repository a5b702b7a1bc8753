// `bun run bench`: the service against a hand-written floor (bench/floor.ts) on the same, fresh
// Postgres database, then its memory and start-up. How to read the numbers: bench/README.md.

import { cpus, loadavg, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { startNeonRelay } from "../test/support/neon-relay";
import { checkSameAnswers, type Probe } from "./lib/check";
import { createBenchDatabase, type Fixtures, postgresVersion, seed } from "./lib/database";
import { measureIdTiming } from "./lib/id-timing";
import { type Comparison, compare, launchComparisons, type ObservabilityResult, tracedCases } from "./lib/observability";
import { type OpenLoopResult, runOpenLoop } from "./lib/open-loop";
import { measureOutage } from "./lib/outage";
import { type CpuPerRequest, countCpu, type Launched, launch, logDir, readMemory, sampleRss, waitForOk } from "./lib/processes";
import { type Pair, type Results, renderMarkdown, totalErrors } from "./lib/report";
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
};

/** The case whose peak resident memory is reported against the 150 MB target. */
const memoryCase = "list 100k, 16 clients (memory)";

const floorScript = fileURLToPath(new URL("./floor.ts", import.meta.url));
const resultsFile = fileURLToPath(new URL("./results.md", import.meta.url));
const log = (line: string) => console.error(line);

function defineCases(f: Fixtures): Case[] {
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
    // Each request changes the next of 1000 todos. Postgres writes a new row version even when the
    // value does not change, so a constant body is a real write every time.
    {
      name: "update",
      method: "PATCH",
      paths: f.updateTodoIds.map((id) => `/api/v1/todos/${id}`),
      userId: () => f.updateUser,
      body: '{"is_completed":true}',
    },
  ];
}

/** Every case once on each side, plus the answers that must match exactly. */
function probesFor(f: Fixtures): Probe[] {
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
      userId: f.updateUser,
      body: '{"is_completed":false}',
      status: 200,
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
});

type CaseResult = {
  closed: Pair<ClosedLoopResult>;
  ratios: number[];
  cpu: Pair<CpuPerRequest>;
  open?: Pair<OpenLoopResult>;
  peakRssMb: Pair<number>;
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

/**
 * One case, everything: the closed loop on both sides back to back (so a burst of background load hits both
 * alike; rounds alternate who goes first; each side's median round is reported, and the ratio of each round's
 * pair), then the open loop. The first round warms each side up longer: with 3 s, the service's first round of
 * every case was its slowest, by up to a quarter (its JIT had not yet compiled that route), and the floor's was not. Reads run before the write cases grow the table, so every read is measured on the
 * seeded data.
 */
async function runCase(settings: Settings, c: Case, processes: Pair<Launched>): Promise<CaseResult> {
  const shape = { connections: c.connections ?? settings.connections, threads: settings.threads };
  const rounds: Pair<ClosedLoopResult[]> = { service: [], floor: [] };
  const peakRssMb = { service: 0, floor: 0 };
  const cpu: Pair<CpuPerRequest[]> = { service: [], floor: [] };
  for (let round = 0; round < settings.rounds; round++) {
    for (const target of round % 2 === 0 ? (["service", "floor"] as const) : (["floor", "service"] as const)) {
      const load = loadOf(c, target, processes[target]);
      const warmupS = round === 0 ? Math.max(settings.warmupS, settings.firstWarmupS) : settings.warmupS;
      if (warmupS > 0) await runWrk(load, { ...shape, durationS: warmupS });
      const sampler = sampleRss(processes[target].proc.pid);
      const cpuCount = await countCpu(processes[target].proc.pid);
      const result = await runWrk(load, { ...shape, durationS: settings.durationS });
      cpu[target].push(await cpuCount.stop(result.requests));
      peakRssMb[target] = Math.max(peakRssMb[target], await sampler.stop());
      log(
        `  ${c.name} · ${target}: ${Math.round(result.rps)} req/s, ${summary(result.p50Ms, result.p99Ms, result.httpErrors + result.socketErrors)}`,
      );
      rounds[target].push(result);
    }
  }
  const closed = { service: median(rounds.service, (run) => run.rps), floor: median(rounds.floor, (run) => run.rps) };
  const ratios = rounds.service.map((run, round) => run.rps / (rounds.floor[round] as ClosedLoopResult).rps);
  const medianCpu = (runs: CpuPerRequest[]) => ({
    processUs: median(runs, (run) => run.processUs).processUs,
    machineUs: median(runs, (run) => run.machineUs).machineUs,
  });
  const open = c.openLoop ? await runOpenLoops(settings, c, processes, closed.service.rps) : undefined;
  return { closed, ratios, cpu: { service: medianCpu(cpu.service), floor: medianCpu(cpu.floor) }, open, peakRssMb };
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
  const fixtures = await seed(database.url);
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
  log("the service and the floor give the same answers; load:");
  const closedLoop: Results["closedLoop"] = [];
  const openLoop: Results["openLoop"] = [];
  let memoryCasePeakRssMb = { service: 0, floor: 0 };
  const chosen = (c: Case) => settings.cases.length === 0 || settings.cases.some((part) => c.name.toLowerCase().includes(part));
  for (const c of defineCases(fixtures).filter(chosen)) {
    const { closed, ratios, cpu, open, peakRssMb } = await runCase(settings, c, processes);
    closedLoop.push({ name: c.name, result: closed, ratios, cpu });
    if (open) openLoop.push({ name: c.name, result: open });
    if (c.name === memoryCase) memoryCasePeakRssMb = peakRssMb;
    await measureObservability(settings, c, processes, comparison, observability);
  }
  observability.spansReceived = comparison.spansReceived();
  await comparison.stop();
  const hwm = { service: (await readMemory(service.proc.pid)).hwmMb, floor: (await readMemory(floor.proc.pid)).hwmMb };
  log("another user's id against a missing one:");
  const idTiming = await measureIdTiming(service.baseUrl, fixtures.user50, fixtures.singleTodoId);
  await Promise.all([service.stop(), floor.stop()]);

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
