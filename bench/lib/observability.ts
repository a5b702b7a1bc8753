// What metrics and tracing cost: the same case against a service with metrics off, and against one that
// also sends every span to a local collector, run back to back in the same run.
import { startOtlpReceiver } from "../../test/support/otlp-receiver";
import { type Launched, launch, waitForOk } from "./processes";
import { serviceScript } from "./startup";
import { type Load, runWrk } from "./wrk";

export type Cost = { name: string; without: number; with: number };
export type ObservabilityResult = { metrics: Cost[]; tracing: Cost[]; spansReceived: number };

/** Metrics on must keep at least this share of the throughput with them off (issue 12). */
export const minMetricsRatio = 0.9;
/** Tracing is measured on these cases only: it is reported, not held to a target. */
export const tracedCases = ["retrieve one", "list 50"];

export type Comparison = { metricsOff: Launched; traced: Launched; spansReceived(): number; stop(): Promise<void> };

/** Two more services on the same database: one with METRICS=off, one sending spans to a local OTLP receiver. */
export async function launchComparisons(env: Record<string, string>): Promise<Comparison> {
  const receiver = startOtlpReceiver({ keep: false });
  const metricsOff = launch(serviceScript, { ...env, METRICS: "off" }, "service-metrics-off");
  const traced = launch(
    serviceScript,
    { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl.replace(/\/v1\/traces$/, "") },
    "service-traced",
  );
  await Promise.all([waitForOk(metricsOff, "/ready"), waitForOk(traced, "/ready")]);
  return {
    metricsOff,
    traced,
    spansReceived: () => receiver.received(),
    async stop() {
      await Promise.all([metricsOff.stop(), traced.stop()]);
      receiver.stop();
    },
  };
}

/** Throughput of `without` then `with` on the same load, each after its own warm-up. */
export async function compare(
  name: string,
  load: (target: Launched) => Load,
  without: Launched,
  withIt: Launched,
  shape: { connections: number; threads: number; durationS: number; warmupS: number },
): Promise<Cost> {
  const rps: number[] = [];
  for (const target of [without, withIt]) {
    const run = load(target);
    if (shape.warmupS > 0) {
      await run.prepare?.();
      await runWrk(run, { ...shape, durationS: shape.warmupS });
    }
    await run.prepare?.();
    rps.push((await runWrk(run, shape)).rps);
  }
  return { name, without: rps[0] ?? 0, with: rps[1] ?? 0 };
}

const int = (value: number) => Math.round(value).toLocaleString("en-US");

export function observabilityTable({ metrics, tracing, spansReceived }: ObservabilityResult): string[] {
  const ratio = (cost: Cost) => cost.with / cost.without;
  const lines = [
    "## What metrics and tracing cost",
    "",
    `The same case against a second service with \`METRICS=off\`, right before the one with metrics on (closed loop as above). Target: every case at least ${minMetricsRatio} times its metrics-off throughput.`,
    "",
    "| case | metrics off req/s | metrics on req/s | on / off |",
    "|---|--:|--:|--:|",
    ...metrics.map(
      (cost) =>
        `| ${cost.name} | ${int(cost.without)} | ${int(cost.with)} | ${ratio(cost).toFixed(2)}${ratio(cost) < minMetricsRatio ? ` **(< ${minMetricsRatio})**` : ""} |`,
    ),
    "",
    `Tracing: a third service with \`OTEL_EXPORTER_OTLP_ENDPOINT\` set, sending every span to a local OTLP/HTTP receiver in the bench process (test/support/otlp-receiver.ts), against the service with metrics on and tracing off; ${int(spansReceived)} spans received.`,
    "",
    "| case | tracing off req/s | tracing on req/s | on / off |",
    "|---|--:|--:|--:|",
    ...tracing.map((cost) => `| ${cost.name} | ${int(cost.without)} | ${int(cost.with)} | ${ratio(cost).toFixed(2)} |`),
    "",
  ];
  return lines;
}

export const metricsMet = ({ metrics }: ObservabilityResult) => metrics.every((cost) => cost.with / cost.without >= minMetricsRatio);
