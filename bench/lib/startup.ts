// Start-up time: from spawning `bun src/index.ts` to its first answers, repeated, medians reported.
import { fileURLToPath } from "node:url";
import { percentile } from "./open-loop";
import { type Launched, launch, waitForOk } from "./processes";

export const serviceScript = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

/** The start-up the target is about: the usual deploy, on a database already migrated. */
export const postgresRestart = "Postgres, Bun SQL driver (restart, migrations already applied)";

export type StartupTiming = { readyMs: number; firstRequestMs: number };
export type StartupSummary = { label: string; runs: number; readyMs: number; firstRequestMs: number; minMs: number; maxMs: number };

/** One start: the time to `GET /ready` = 200, then to a first `GET /api/v1/todos` = 200. */
export async function timeOneStart(env: Record<string, string>, userId: string): Promise<StartupTiming> {
  const service = launch(serviceScript, env, "service-startup");
  try {
    return await timeFirstAnswers(service, userId);
  } finally {
    await service.stop();
  }
}

export async function timeFirstAnswers(service: Launched, userId: string): Promise<StartupTiming> {
  const readyAt = await waitForOk(service, "/ready");
  const firstAt = await waitForOk(service, "/api/v1/todos", { "x-user-id": userId });
  return { readyMs: readyAt - service.startedAt, firstRequestMs: firstAt - service.startedAt };
}

export async function measureStartup(label: string, env: Record<string, string>, userId: string, runs: number): Promise<StartupSummary> {
  const timings: StartupTiming[] = [];
  for (let run = 0; run < runs; run++) timings.push(await timeOneStart(env, userId));
  return summarise(label, timings);
}

export function summarise(label: string, timings: StartupTiming[]): StartupSummary {
  const sorted = (values: number[]) => values.toSorted((a, b) => a - b);
  const firsts = sorted(timings.map((timing) => timing.firstRequestMs));
  return {
    label,
    runs: timings.length,
    readyMs: percentile(sorted(timings.map((timing) => timing.readyMs)), 50),
    firstRequestMs: percentile(firsts, 50),
    minMs: firsts[0] ?? Number.NaN,
    maxMs: firsts.at(-1) ?? Number.NaN,
  };
}
