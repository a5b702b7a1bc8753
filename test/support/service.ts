// The service as its users start it: `bun src/index.ts` in a child process of its own. It listens
// on a port the kernel picks (PORT=0), read back from its `listening` log line, so runs never collide.
import type { Subprocess } from "bun";

export type Service = {
  child: Subprocess<"ignore", "pipe", "pipe">;
  base: string;
  /** Everything the process wrote to stdout so far. */
  output(): string;
  /** Waits until /ready answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait; the exit code. */
  stop(): Promise<number>;
};

const baseEnv = { DATABASE_URL: "", NEON_DATABASE_URL: "", LOG_LEVEL: "info" };

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) into.text += decoder.decode(chunk, { stream: true });
}

/** Spawns the service; resolves once it listens, or rejects with its output if it exits first. Needs LOG_LEVEL info or lower. */
export async function startService(
  env: Record<string, string>,
  { timeoutMs = 30_000, command = ["bun", "src/index.ts"] } = {},
): Promise<Service> {
  const child = Bun.spawn(command, {
    env: { ...process.env, PORT: "0", ...baseEnv, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = { text: "" };
  const stderr = { text: "" };
  void collect(child.stdout, stdout);
  void collect(child.stderr, stderr);
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (!url) {
    url = /"msg":"listening","url":"http:\/\/[^:]+:(\d+)"/.exec(stdout.text)?.[1];
    if (url) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`the service did not start (exit ${child.exitCode}): ${stderr.text}${stdout.text}`);
    }
    await Bun.sleep(25);
  }
  const base = `http://127.0.0.1:${url}`;
  return {
    child,
    base,
    output: () => stdout.text,
    // Generous: the embedded database migrates in the process, which on a loaded 2-core machine has taken 30 s.
    async ready(ms = 90_000) {
      const until = Date.now() + ms;
      while (!(await fetch(`${base}/ready`).catch(() => undefined))?.ok) {
        if (Date.now() > until) throw new Error(`not ready within ${ms} ms: ${stdout.text}`);
        await Bun.sleep(50);
      }
    },
    async stop() {
      child.kill("SIGTERM");
      return child.exited;
    },
  };
}

/** Runs the service expecting it to refuse to start: its exit code and what it printed. */
export async function failedStart(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const child = Bun.spawn(["bun", "src/index.ts"], { env: { ...process.env, ...baseEnv, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(), 20_000);
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  clearTimeout(timer);
  return { code, stderr };
}
