// The processes under test: launched with their environment, awaited until they answer, stopped.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";

/** The children's output goes here, not to the terminal: the service logs every 503 from /ready while it starts. */
export const logDir = `${tmpdir()}/todo-bench-${process.pid}`;

export type Launched = { proc: Subprocess; port: number; baseUrl: string; startedAt: number; stop(): Promise<void> };

/** A port nothing listens on now; the child binds it a moment later. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** Starts `bun <script>` with a fresh PORT, its output appended to `<logDir>/<logName>.log`; `startedAt` is taken just before the spawn. */
export function launch(script: string, env: Record<string, string | undefined>, logName: string): Launched {
  const port = freePort();
  mkdirSync(logDir, { recursive: true });
  const output = openSync(`${logDir}/${logName}.log`, "a");
  const startedAt = performance.now();
  const proc = Bun.spawn(["bun", "--no-env-file", script], {
    env: definedOnly({ ...baseEnv(), ...env, PORT: String(port) }),
    stdout: output,
    stderr: output,
    onExit: () => closeSync(output),
  });
  return {
    proc,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    startedAt,
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
      if (!exited) proc.kill("SIGKILL");
    },
  };
}

// The child sees only what the bench sets (hence also --no-env-file): an AUTH_* or LOG_LEVEL left in
// the caller's shell or in a .env file would silently change what is measured.
function baseEnv(): Record<string, string | undefined> {
  const { PATH, HOME, TMPDIR, LANG } = process.env;
  return { PATH, HOME, TMPDIR, LANG };
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Polls until `url` answers 200; returns the time it did, from performance.now(). */
export async function waitForOk(launched: Launched, path: string, headers: Record<string, string> = {}, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (launched.proc.exitCode !== null) throw new Error(`the process exited with code ${launched.proc.exitCode} before ${path} answered`);
    const status = await fetch(launched.baseUrl + path, { headers }).then(
      (response) => response.arrayBuffer().then(() => response.status),
      () => 0,
    );
    if (status === 200) return performance.now();
    await Bun.sleep(5);
  }
  throw new Error(`${launched.baseUrl}${path} did not answer 200 within ${timeoutMs} ms`);
}

export type Memory = { rssMb: number; hwmMb: number };

/** Resident memory now (VmRSS) and its peak over the process's life (VmHWM). */
export async function readMemory(pid: number): Promise<Memory> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const mb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN) / 1024;
  return { rssMb: mb("VmRSS"), hwmMb: mb("VmHWM") };
}

/** Samples VmRSS every `everyMs` until stopped; VmHWM alone would also count earlier cases. */
export function sampleRss(pid: number, everyMs = 100) {
  let peakMb = 0;
  const timer = setInterval(async () => {
    peakMb = Math.max(peakMb, (await readMemory(pid)).rssMb);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      return Math.max(peakMb, (await readMemory(pid)).rssMb);
    },
  };
}

/** CPU time spent per request: by one process, and by the whole machine (that process, Postgres, wrk, the kernel). */
export type CpuPerRequest = { processUs: number; machineUs: number };

// /proc counts CPU time in clock ticks of 10 ms (USER_HZ is 100 on Linux).
const TICK_US = 10_000;

/** utime + stime of a process: fields 14 and 15 of /proc/<pid>/stat, counted after the command's closing parenthesis. */
async function processTicks(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Ticks all cores have spent working since boot (not idle, iowait, or stolen by the hypervisor): /proc/stat's first line. */
async function machineBusyTicks(): Promise<number> {
  const [, ...counts] = (await Bun.file("/proc/stat").text()).split("\n", 1)[0]?.trim().split(/\s+/) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = counts.map(Number);
  return user + nice + system + irq + softirq;
}

/**
 * Starts counting CPU time; stop() divides it by the requests answered meanwhile. Less noisy than throughput
 * on a shared machine: a slow spell stretches both the time and the requests, not the CPU per request.
 */
export async function countCpu(pid: number) {
  const [process0, machine0] = await Promise.all([processTicks(pid), machineBusyTicks()]);
  return {
    async stop(requests: number): Promise<CpuPerRequest> {
      const [process1, machine1] = await Promise.all([processTicks(pid), machineBusyTicks()]);
      return { processUs: ((process1 - process0) * TICK_US) / requests, machineUs: ((machine1 - machine0) * TICK_US) / requests };
    },
  };
}
