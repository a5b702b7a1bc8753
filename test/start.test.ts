// The README's quick start: `bun run start` on a fresh machine serves on the embedded database.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService } from "./support/service";

test("bun run start serves requests with no database configured, creating its data folder", async () => {
  // As on a fresh clone: the data folder and its parents do not exist yet; and a space in the path, as in many home folders.
  const home = mkdtempSync(join(tmpdir(), "todo start "));
  const dataDir = join(home, ".data", "pglite");
  const service = await startService({ PGLITE_DATA_DIR: dataDir }, { command: ["bun", "run", "start"] });
  try {
    await service.ready();
    const created = await fetch(`${service.base}/api/v1/todos`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-user-id": crypto.randomUUID() },
      body: JSON.stringify({ title: "first" }),
    });
    expect(created.status).toBe(201);
  } finally {
    await service.stop();
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true);
    rmSync(home, { recursive: true, force: true });
  }
}, 60_000);
