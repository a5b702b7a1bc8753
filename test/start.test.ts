// The README's quick start: `bun run start` on a fresh machine serves on the embedded database.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("bun run start serves requests with no database configured, creating its data folder", async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  // As on a fresh clone: the data folder and its parents do not exist yet.
  const home = mkdtempSync(join(tmpdir(), "todo-start-"));
  const dataDir = join(home, ".data", "pglite");
  const env = { ...process.env, PORT: String(port), PGLITE_DATA_DIR: dataDir, DATABASE_URL: "", NEON_DATABASE_URL: "" };
  const child = Bun.spawn(["bun", "run", "start"], { env, stdout: "pipe", stderr: "pipe" });
  try {
    let ready: Response | undefined;
    for (let attempt = 0; attempt < 120 && !ready?.ok; attempt++) {
      await Bun.sleep(250);
      ready = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
    }
    expect(ready?.status).toBe(200);
    const created = await fetch(`http://127.0.0.1:${port}/api/v1/todos`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-user-id": crypto.randomUUID() },
      body: JSON.stringify({ title: "first" }),
    });
    expect(created.status).toBe(201);
  } finally {
    child.kill();
    await child.exited;
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
    rmSync(home, { recursive: true, force: true });
  }
}, 60_000);
