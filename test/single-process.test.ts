// One process per embedded database, one process per port: a second start is refused at once
// instead of silently sharing them, and nothing answered 201 is ever lost.
import { afterAll, describe, expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { failedStart, type Service, startService } from "./support/service";

// The real path: error messages name the folder with its symlinks resolved (macOS's tmpdir is one).
const home = realpathSync(mkdtempSync(join(tmpdir(), "todo-single-")));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const user = crypto.randomUUID();
const headers = { "content-type": "application/json", "x-user-id": user };

async function create(service: Service, title: string): Promise<string | undefined> {
  const response = await fetch(`${service.base}/api/v1/todos`, { method: "POST", headers, body: JSON.stringify({ title }) });
  return response.status === 201 ? ((await response.json()) as { id: string }).id : undefined;
}

async function storedIds(service: Service): Promise<string[]> {
  const response = await fetch(`${service.base}/api/v1/todos?limit=200`, { headers });
  return ((await response.json()) as { items: { id: string }[] }).items.map((todo) => todo.id);
}

describe("the embedded database belongs to one process", () => {
  const dataDir = join(home, "pglite");

  // home/up is a symlink to home/deep/er: the kernel reads home/up/../../x as home/x, path.resolve as dirname(home)/x.
  mkdirSync(join(home, "deep", "er"), { recursive: true });
  symlinkSync(join(home, "deep", "er"), join(home, "up"));
  symlinkSync(home, join(home, "via"));
  const spellings: [string, string, (folder: string) => string][] = [
    ["the same path", "same", (folder) => folder],
    ["a file:// URL", "url", (folder) => pathToFileURL(folder).href],
    ["a file: URL with one slash", "url1", (folder) => `file:${folder}`],
    [
      "a relative path with .. through a symlink",
      "dots",
      (folder) => `${relative(process.cwd(), join(home, "up"))}/../../${basename(folder)}`,
    ],
    ["a path through a symlinked folder", "linked", (folder) => join(home, "via", basename(folder))],
  ];

  test.each(spellings)(
    "a second start on the folder spelled as %s exits at once naming it and its holder; the first keeps every write",
    async (_, name, spell) => {
      const dataDir = join(home, name);
      const first = await startService({ PGLITE_DATA_DIR: dataDir });
      try {
        await first.ready();
        const acknowledged = [await create(first, "before")];
        const port = new URL(first.base).port;
        // Same folder and same port, as a second `bun run start` in the same checkout would be.
        const second = failedStart({ PGLITE_DATA_DIR: spell(dataDir), PORT: port });
        for (let i = 0; i < 10; i++) acknowledged.push(await create(first, `during ${i}`));
        const { code, stderr } = await second;
        expect(code).not.toBe(0);
        expect(stderr.trim().split("\n")).toHaveLength(1);
        expect(stderr).toContain(`the embedded database in ${dataDir} is in use by another process (pid ${first.child.pid})`);
        acknowledged.push(await create(first, "after"));
        expect(acknowledged.every(Boolean)).toBe(true);
        expect(await first.stop()).toBe(0);

        const restarted = await startService({ PGLITE_DATA_DIR: dataDir });
        await restarted.ready();
        expect((await storedIds(restarted)).sort()).toEqual((acknowledged as string[]).sort());
        await restarted.stop();
      } finally {
        first.child.kill("SIGKILL");
      }
    },
    90_000,
  );

  test.each([
    ["symlink", symlinkSync],
    ["hard link", linkSync],
  ] as const)(
    "a %s named todo-api.lock is refused: its target is neither changed nor printed",
    async (kind, link) => {
      const secret = join(home, `secret ${kind}.txt`);
      writeFileSync(secret, "top secret contents\n");
      const folder = join(home, `trap ${kind}`);
      mkdirSync(folder);
      link(secret, join(folder, "todo-api.lock"));
      const { code, stderr } = await failedStart({ PGLITE_DATA_DIR: folder, PORT: "0", HOST: "127.0.0.1" });
      expect(code).not.toBe(0);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toContain(`${folder}/todo-api.lock is not a regular file owned by this user`);
      expect(stderr).not.toContain("top secret");
      expect(readFileSync(secret, "utf8")).toBe("top secret contents\n");
    },
    30_000,
  );

  test("deleting todo-api.lock does not free the folder: the lock is on the folder itself", async () => {
    const folder = join(home, "unlinked");
    const first = await startService({ PGLITE_DATA_DIR: folder });
    try {
      await first.ready();
      rmSync(join(folder, "todo-api.lock"));
      const { code, stderr } = await failedStart({ PGLITE_DATA_DIR: folder, PORT: "0", HOST: "127.0.0.1" });
      expect(code).not.toBe(0);
      expect(stderr).toContain(`the embedded database in ${folder} is in use by another process`);
      expect(await create(first, "still the only writer")).toBeString();
    } finally {
      first.child.kill("SIGKILL");
    }
  }, 60_000);

  test("after kill -9 the lock is gone with the process: a new start succeeds at once and keeps what was written", async () => {
    const killed = await startService({ PGLITE_DATA_DIR: dataDir });
    await killed.ready();
    const id = await create(killed, "written before kill -9");
    killed.child.kill("SIGKILL");
    await killed.child.exited;

    const next = await startService({ PGLITE_DATA_DIR: dataDir });
    try {
      await next.ready();
      expect(await storedIds(next)).toContain(id as string);
    } finally {
      await next.stop();
    }
  }, 90_000);
});

test("a port already in use stops start-up with one clear line", async () => {
  const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
  try {
    const { code, stderr } = await failedStart({ PGLITE_DATA_DIR: "memory://", PORT: String(holder.port), HOST: "127.0.0.1" });
    expect(code).not.toBe(0);
    expect(stderr.trim()).toBe(
      `port ${holder.port} on 127.0.0.1 is already in use by another process; stop it or set PORT to another port`,
    );
  } finally {
    holder.stop(true);
  }
}, 30_000);
