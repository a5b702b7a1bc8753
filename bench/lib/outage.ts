// The database goes away under the service: how fast "known down" is answered, and how soon
// service resumes once it is back. A private Postgres cluster is stopped and started for real.
import { createPrivatePostgres } from "../../test/support/private-postgres";
import { type Launched, launch, readMemory, sampleRss, waitForOk } from "./processes";
import type { Settings } from "./settings";
import { serviceScript } from "./startup";
import { type ClosedLoopResult, runWrk } from "./wrk";

export type OutageResult = {
  connections: number;
  load: ClosedLoopResult;
  /** Of a sample taken after the load: status and media type. */
  sample: { status: number; contentType: string };
  rssBeforeMb: number;
  rssPeakMb: number;
  /** From `pg_ctl start` returning to the first 200 of the API. */
  recoveryMs: number;
};

const connections = 64;

async function expect503(service: Launched, userId: string) {
  const response = await fetch(`${service.baseUrl}/api/v1/todos`, { headers: { "x-user-id": userId } });
  await response.arrayBuffer();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "" };
}

export async function measureOutage(settings: Settings): Promise<OutageResult> {
  const pg = await createPrivatePostgres();
  await pg.start();
  const service = launch(serviceScript, { DATABASE_URL: pg.url, DATABASE_DRIVER: "bun", LOG_LEVEL: "warn" }, "service-outage");
  try {
    const userId = crypto.randomUUID();
    await waitForOk(service, "/api/v1/todos", { "x-user-id": userId });
    await pg.stop();
    await expect503(service, userId); // the first 503 finds the database gone and opens the circuit
    const rssBeforeMb = (await readMemory(service.proc.pid)).rssMb;
    const sampler = sampleRss(service.proc.pid);
    const load = await runWrk(
      { baseUrl: service.baseUrl, paths: ["/api/v1/todos"], method: "GET", userId },
      { connections, threads: settings.threads, durationS: settings.durationS },
    );
    const rssPeakMb = await sampler.stop();
    const sample = await expect503(service, userId);
    await pg.start();
    const back = performance.now();
    const recoveryMs = (await waitForOk(service, "/api/v1/todos", { "x-user-id": userId })) - back;
    return { connections, load, sample, rssBeforeMb, rssPeakMb, recoveryMs };
  } finally {
    await service.stop();
    await pg.destroy();
  }
}

export function outageTable(o: OutageResult): string[] {
  const all503 = o.load.httpErrors === o.load.requests && o.load.socketErrors === 0;
  return [
    "## The database down",
    "",
    `A private Postgres cluster stopped under the service; after the first 503, \`GET /api/v1/todos\` over ${o.connections} connections.`,
    "",
    "| req/s | p50 ms | p99 ms | answers | every one an error status, no socket errors | sample after the load | RSS before → peak MB | first 200 after the database is back |",
    "|--:|--:|--:|--:|---|---|--:|--:|",
    `| ${Math.round(o.load.rps)} | ${o.load.p50Ms.toFixed(2)} | ${o.load.p99Ms.toFixed(2)} | ${o.load.requests} | ${all503 ? "yes" : "NO"} | ${o.sample.status} ${o.sample.contentType} | ${o.rssBeforeMb.toFixed(0)} → ${o.rssPeakMb.toFixed(0)} | ${Math.round(o.recoveryMs)} ms |`,
    "",
    "Targets: at least 1,000 answers per second, p99 under 100 ms, memory flat; service back within about 2 s.",
    "",
  ];
}
