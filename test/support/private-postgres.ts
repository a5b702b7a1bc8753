// A Postgres cluster of the test's own, on its own port, that the test may stop and start:
// the database going away under a running service, for real.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = (() => {
  const versions = readdirSync("/usr/lib/postgresql").sort();
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
})();

// Postgres refuses to run as root; CI runs as root, so run the server as `postgres` then.
const asPostgres = (args: string[]) => (process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...args] : args);

async function run(args: string[]) {
  const child = Bun.spawn(asPostgres(args), { stdout: "pipe", stderr: "pipe" });
  if ((await child.exited) !== 0) throw new Error(`${args.join(" ")} failed: ${await new Response(child.stderr).text()}`);
}

export type PrivatePostgres = { url: string; port: number; start(): Promise<void>; stop(): Promise<void>; destroy(): Promise<void> };

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "todo-pg-"));
  const data = join(dir, "data");
  // Below 32768, where the kernel hands out ports to outgoing connections; services in tests listen on port 0.
  const port = 22_000 + Math.floor(Math.random() * 10_000);
  if (process.getuid?.() === 0) await Bun.spawn(["chown", "postgres", dir]).exited;
  await run([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off`;
  const cluster: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => run([`${bin}/pg_ctl`, "-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]),
    // "fast" ends every session at once, as a crashed or restarted database would.
    stop: () => run([`${bin}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"]),
    async destroy() {
      await cluster.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
