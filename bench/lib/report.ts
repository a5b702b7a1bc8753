// The results as Markdown: printed, and written to bench/results.md.

import { HEAVY_TODOS, RESTORED_USERS } from "./fixtures";
import { type IdTimingResult, idTimingTable } from "./id-timing";
import { metricsMet, minMetricsRatio, type ObservabilityResult, observabilityTable } from "./observability";
import type { OpenLoopResult } from "./open-loop";
import { type OutageResult, outageTable } from "./outage";
import type { CpuPerRequest, Memory } from "./processes";
import type { Settings } from "./settings";
import { postgresRestart, type StartupSummary } from "./startup";
import type { ClosedLoopResult } from "./wrk";

export type Pair<T> = { service: T; floor: T };
/** The same case against BENCH_BASELINE's service: its median round, and the service/baseline ratio of every round. */
export type BaselineResult = { commit: string; result: ClosedLoopResult; ratios: number[] };

export type Results = {
  date: string;
  machine: { cores: number; cpu: string; memoryGb: number; kernel: string; bun: string; postgres: string; loadAverage: number[] };
  settings: Settings;
  /** Each side's median round, and the service/floor ratio of every round (rounds pair up in time). */
  closedLoop: {
    name: string;
    result: Pair<ClosedLoopResult>;
    ratios: number[];
    /** Each round's req/s, in order. */
    rounds: Pair<number[]>;
    cpu: Pair<CpuPerRequest>;
    baseline?: BaselineResult;
  }[];
  openLoop: { name: string; result: Pair<OpenLoopResult> }[];
  memory: Pair<{ idle: Memory; peakRssUnderLoadMb: number; hwmMb: number }>;
  startup: StartupSummary[];
  outage: OutageResult;
  idTiming: IdTimingResult;
  observability: ObservabilityResult;
};

/** What "good enough" means for the service (issues 5, 9 and 16; the floor ratio is issue 26's guard against regressions). */
export const targets = {
  keyedCreateMinRatio: 0.8,
  notModifiedMinRatio: 1,
  minRatio: 0.85,
  list200P99Ms: 50,
  deepToFirstMinRatio: 0.9,
  rssMb: 150,
  startupMs: 1000,
};

/** Issue 28: what the change feed may cost its writes. */
export const changeFeedTargets = {
  heavyToNewMinRatio: 0.9,
  slowestRoundMinShare: 0.5,
  createToFloorMinRatio: 0.85,
  againstBaselineMinRatio: 0.85,
};
/** The cases issue 28 compares with today's throughput (BENCH_BASELINE). */
export const baselineCases = ["create", "update", "delete"];
export const heavyCreateCase = "create for users with 9000 todos";
export const newCreateCase = "create for new users";

const int = (value: number) => Math.round(value).toLocaleString("en-US");
const ms = (value: number) =>
  Number.isNaN(value) ? "–" : value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
const mb = (value: number) => value.toFixed(0);
const medianRatio = (ratios: number[]) => ratios.toSorted((a, b) => a - b)[Math.floor((ratios.length - 1) / 2)] ?? Number.NaN;
const verdict = (ok: boolean) => (ok ? "met" : "**MISSED**");

export function totalErrors(results: Results): number {
  const closed = results.closedLoop.flatMap(({ result, baseline }) => [
    result.service,
    result.floor,
    ...(baseline ? [baseline.result] : []),
  ]);
  const open = results.openLoop.flatMap(({ result }) => [result.service, result.floor]);
  return closed.reduce((sum, run) => sum + run.httpErrors + run.socketErrors, 0) + open.reduce((sum, run) => sum + run.errors, 0);
}

function header(results: Results): string[] {
  const { machine: m, settings: s } = results;
  const lines = ["# Benchmark results", ""];
  const errors = totalErrors(results);
  if (errors > 0) {
    lines.push(`> **WARNING: ${int(errors)} requests failed (see the errors columns). Numbers from failing runs are not comparable.**`, "");
  }
  lines.push(
    `- Date: ${results.date}`,
    `- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb.toFixed(0)} GB, Linux ${m.kernel}; load average ${m.loadAverage.map((v) => v.toFixed(2)).join(" / ")} (1/5/15 min) at the start`,
    `- Bun ${m.bun}; PostgreSQL ${m.postgres} on the same machine; wrk, the service, the floor and Postgres share the cores`,
    `- Closed loop: \`wrk -t ${s.threads} -c ${s.connections}\`, ${s.warmupS} s warm-up (${Math.max(s.warmupS, s.firstWarmupS)} s before a case's first round) then ${s.durationS} s measured, per case and target; ${s.rounds} round(s): each side's median round, and the median of the rounds' ratios with their range`,
    `- Both processes: \`DB_POOL_MAX=${s.poolMax}\`; the service with \`LOG_LEVEL=warn\` (at \`info\` it writes a JSON line per request, which would dominate)`,
    "",
  );
  return lines;
}

function closedLoopTable(results: Results): string[] {
  const lines = [
    "## Throughput and latency under load (closed loop, wrk)",
    "",
    "| case | service req/s | floor req/s | service / floor, median of rounds (range) | service p50 ms | service p99 ms | floor p50 ms | floor p99 ms | errors (service / floor) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const { name, result, ratios } of results.closedLoop) {
    const { service, floor } = result;
    const ratio = medianRatio(ratios);
    const range = ratios.length > 1 ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : "";
    const errors = (run: ClosedLoopResult) => run.httpErrors + run.socketErrors;
    const flag = ratio < targets.minRatio ? ` **(< ${targets.minRatio})**` : "";
    lines.push(
      `| ${name} | ${int(service.rps)} | ${int(floor.rps)} | ${ratio.toFixed(2)}${flag}${range} | ${ms(service.p50Ms)} | ${ms(service.p99Ms)} | ${ms(floor.p50Ms)} | ${ms(floor.p99Ms)} | ${errors(service)} / ${errors(floor)} |`,
    );
  }
  return [...lines, ""];
}

function cpuTable(results: Results): string[] {
  const lines = [
    "## CPU per request (closed loop, the same rounds)",
    "",
    "CPU time spent during each measured run, divided by the requests answered; the median round of each side. The whole machine is that process, Postgres, wrk and the kernel: on cores they share, throughput follows it, so its floor / service ratio is what the throughput ratio tends to, less moved by a slow spell (which stretches the time and the requests alike).",
    "",
    "| case | service process µs | floor process µs | whole machine µs, service / floor | floor / service, whole machine |",
    "|---|--:|--:|--:|--:|",
  ];
  for (const { name, cpu } of results.closedLoop) {
    const { service, floor } = cpu;
    lines.push(
      `| ${name} | ${service.processUs.toFixed(1)} | ${floor.processUs.toFixed(1)} | ${service.machineUs.toFixed(1)} / ${floor.machineUs.toFixed(1)} | ${(floor.machineUs / service.machineUs).toFixed(2)} |`,
    );
  }
  return [...lines, ""];
}

function openLoopTable(results: Results): string[] {
  const fraction = Math.round(results.settings.rateFraction * 100);
  const lines = [
    `## Latency at a fixed rate (open loop, corrected for coordinated omission; ${fraction} % of the service's throughput)`,
    "",
    "| case | rate req/s | service p50 | p90 | p99 | p99.9 | max | floor p50 | p90 | p99 | p99.9 | max | errors (service / floor) | scheduler lag p99 (service / floor) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const { name, result } of results.openLoop) {
    const { service: s, floor: f } = result;
    const cells = (run: OpenLoopResult) => [run.p50Ms, run.p90Ms, run.p99Ms, run.p999Ms, run.maxMs].map(ms).join(" | ");
    lines.push(
      `| ${name} | ${int(s.rate)} | ${cells(s)} | ${cells(f)} | ${s.errors} / ${f.errors} | ${ms(s.schedulerLagP99Ms)} / ${ms(f.schedulerLagP99Ms)} |`,
    );
  }
  return [
    ...lines,
    "",
    `Latencies in milliseconds, from when each request was due to when its whole answer had arrived, over ${results.settings.connections} keep-alive connections.`,
    "Scheduler lag: how late the generator's own timer fired; it is inside the latencies, and when it is large they measure the generator, not the server.",
    "",
  ];
}

function memoryTable(results: Results): string[] {
  const row = (name: string, m: Results["memory"]["service"]) =>
    `| ${name} | ${mb(m.idle.rssMb)} | ${mb(m.peakRssUnderLoadMb)} | ${mb(m.hwmMb)} |`;
  return [
    "## Resident memory (MB)",
    "",
    "| process | idle after start-up (VmRSS) | peak while 16 clients list the user with 100,000 todos (VmRSS, sampled every 100 ms) | peak over the whole run (VmHWM) |",
    "|---|--:|--:|--:|",
    row("service", results.memory.service),
    row("floor", results.memory.floor),
    "",
  ];
}

function startupTable(results: Results): string[] {
  const lines = [
    "## Start-up of the service",
    "",
    "| database | runs | to `/ready` 200, median ms | to first `GET /api/v1/todos` 200, median ms | min – max ms |",
    "|---|--:|--:|--:|--:|",
  ];
  for (const s of results.startup) {
    lines.push(`| ${s.label} | ${s.runs} | ${ms(s.readyMs)} | ${ms(s.firstRequestMs)} | ${ms(s.minMs)} – ${ms(s.maxMs)} |`);
  }
  return [...lines, "", "From just before the process is spawned; `/ready` is polled first (every 5 ms), then the API.", ""];
}

function changeFeedSection(results: Results): string[] {
  const t = changeFeedTargets;
  const find = (name: string) => results.closedLoop.find((each) => each.name === name);
  const heavy = find(heavyCreateCase);
  const fresh = find(newCreateCase);
  const create = find("create");
  const ratio = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? "–" : value.toFixed(2));
  const met = (value: number | undefined, min: number) => (value === undefined || Number.isNaN(value) ? "–" : verdict(value >= min));
  const ofNew = (side: keyof Pair<unknown>) => heavy && fresh && heavy.result[side].rps / fresh.result[side].rps;
  // One round has nothing to compare with.
  const slowestShare = (rounds: number[] | undefined) =>
    rounds && rounds.length > 1 ? Math.min(...rounds) / Math.max(...rounds) : undefined;
  const rows: [string, number | undefined, number | undefined, number][] = [
    [`${heavyCreateCase} / ${newCreateCase} (median rounds)`, ofNew("service"), ofNew("floor"), t.heavyToNewMinRatio],
    [
      `slowest round / fastest, ${heavyCreateCase}`,
      slowestShare(heavy?.rounds.service),
      slowestShare(heavy?.rounds.floor),
      t.slowestRoundMinShare,
    ],
    [
      `slowest round / fastest, ${newCreateCase}`,
      slowestShare(fresh?.rounds.service),
      slowestShare(fresh?.rounds.floor),
      t.slowestRoundMinShare,
    ],
    [
      "create / the floor's create (the user row and the todo, one statement; median of rounds' ratios)",
      create && medianRatio(create.ratios),
      undefined,
      t.createToFloorMinRatio,
    ],
  ];
  const lines = [
    "## The change feed's cost to writes (issue 28)",
    "",
    `The two creates have the same shape: ${results.settings.connections} connections over ${RESTORED_USERS} users in turn, the same users for both sides, put back before each run: users with ${int(HEAVY_TODOS)} todos each (${int(HEAVY_TODOS * RESTORED_USERS)} todos, as in a table with many such users), and users without a row.`,
    "",
    "| measure | service | floor, for reference | target | service meets it |",
    "|---|--:|--:|--:|--:|",
    ...rows.map(
      ([name, service, floor, min]) =>
        `| ${name} | ${ratio(service)} | ${floor === undefined ? "–" : ratio(floor)} | ≥ ${min} | ${met(service, min)} |`,
    ),
    "",
  ];
  const compared = results.closedLoop.filter((each) => each.baseline);
  const commit = compared[0]?.baseline?.commit.slice(0, 12);
  if (compared.length === 0) {
    lines.push(
      "Against today's throughput: not measured in this run. `BENCH_BASELINE=<commit> bun run bench` runs every chosen case against that commit's service too (for issue 28, 0def97a, before the change feed).",
      "",
    );
  } else {
    lines.push(
      `### Against ${commit} (BENCH_BASELINE): its service on a database of its own, the same fixtures, in every round beside this one`,
      "",
      "| case | service req/s | baseline req/s | service / baseline, median of rounds (range) | baseline p50 ms | baseline p99 ms | baseline errors | target |",
      "|---|--:|--:|--:|--:|--:|--:|--:|",
    );
    for (const { name, result, baseline } of compared) {
      if (!baseline) continue;
      const r = medianRatio(baseline.ratios);
      const range =
        baseline.ratios.length > 1 ? ` (${Math.min(...baseline.ratios).toFixed(2)}–${Math.max(...baseline.ratios).toFixed(2)})` : "";
      const target = baselineCases.includes(name) ? `≥ ${t.againstBaselineMinRatio}: ${verdict(r >= t.againstBaselineMinRatio)}` : "–";
      lines.push(
        `| ${name} | ${int(result.service.rps)} | ${int(baseline.result.rps)} | ${r.toFixed(2)}${range} | ${ms(baseline.result.p50Ms)} | ${ms(baseline.result.p99Ms)} | ${baseline.result.httpErrors + baseline.result.socketErrors} | ${target} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    "Not measured by this bench yet: event latency from a write's 2xx to a stream on another instance (p50 and p99, 1,000 open streams over 2 instances, 200 writes/s); memory per idle stream (10,000 streams).",
    "",
  );
  return lines;
}

function targetList(results: Results): string[] {
  const worst = results.closedLoop.reduce(
    (low, { name, ratios }) => (medianRatio(ratios) < low.ratio ? { name, ratio: medianRatio(ratios) } : low),
    { name: "", ratio: Number.POSITIVE_INFINITY },
  );
  const caseResult = (name: string) => results.closedLoop.find((each) => each.name === name)?.result;
  const list200 = caseResult("list with limit=200");
  const first = caseResult("list 100k, first page");
  const deep = caseResult("list 100k, page past the 50,000th");
  const deepRatio = (deep?.service.rps ?? Number.NaN) / (first?.service.rps ?? Number.NaN);
  const postgres = results.startup.find(({ label }) => label === postgresRestart);
  // Against the service's own plain case in the same run, not the floor.
  const ofPlain = (name: string, plain: string) =>
    (caseResult(name)?.service.rps ?? Number.NaN) / (caseResult(plain)?.service.rps ?? Number.NaN);
  const keyed = ofPlain("create with an Idempotency-Key", "create");
  const notModified = ofPlain("retrieve with matching If-None-Match", "retrieve one");
  return [
    "## Targets",
    "",
    `- Every case at least ${targets.minRatio}× the floor, median of rounds: ${verdict(worst.ratio >= targets.minRatio)} (lowest: ${worst.name}, ${worst.ratio.toFixed(2)}×)`,
    `- Create with an Idempotency-Key at least ${targets.keyedCreateMinRatio}× the service's plain create: ${verdict(keyed >= targets.keyedCreateMinRatio)} (${keyed.toFixed(2)}×)`,
    `- Retrieve with a matching If-None-Match (304) at least ${targets.notModifiedMinRatio}× the service's plain retrieve: ${verdict(notModified >= targets.notModifiedMinRatio)} (${notModified.toFixed(2)}×)`,
    `- List with limit=200, service p99 under ${targets.list200P99Ms} ms at ${results.settings.connections} connections: ${verdict((list200?.service.p99Ms ?? Number.POSITIVE_INFINITY) < targets.list200P99Ms)} (${ms(list200?.service.p99Ms ?? Number.NaN)} ms; the floor: ${ms(list200?.floor.p99Ms ?? Number.NaN)} ms)`,
    `- 100,000 todos, the page past the 50,000th at least ${targets.deepToFirstMinRatio}× the first page's throughput: ${verdict(deepRatio >= targets.deepToFirstMinRatio)} (${deepRatio.toFixed(2)}×)`,
    `- Service RSS while 16 clients list the user with 100,000 todos under ${targets.rssMb} MB: ${verdict(results.memory.service.peakRssUnderLoadMb < targets.rssMb)} (${mb(results.memory.service.peakRssUnderLoadMb)} MB; over the whole run, VmHWM ${mb(results.memory.service.hwmMb)} MB; the floor: ${mb(results.memory.floor.peakRssUnderLoadMb)} MB)`,
    `- With metrics on, every case at least ${minMetricsRatio}× the same case with metrics off: ${verdict(metricsMet(results.observability))}`,
    `- Start to first request under ${targets.startupMs} ms on Postgres: ${verdict((postgres?.firstRequestMs ?? Number.POSITIVE_INFINITY) < targets.startupMs)} (median ${ms(postgres?.firstRequestMs ?? Number.NaN)} ms, at most ${ms(postgres?.maxMs ?? Number.NaN)} ms)`,
    "",
  ];
}

export function renderMarkdown(results: Results): string {
  return [
    ...header(results),
    ...closedLoopTable(results),
    ...cpuTable(results),
    ...openLoopTable(results),
    ...memoryTable(results),
    ...startupTable(results),
    ...outageTable(results.outage),
    ...idTimingTable(results.idTiming),
    ...observabilityTable(results.observability),
    ...changeFeedSection(results),
    ...targetList(results),
  ].join("\n");
}
