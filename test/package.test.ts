// What a client package gets from this one: the source, its types and the OpenAPI document, nothing of
// this checkout (no .data/, tests or benchmarks), and the same single copy of Elysia.
import { expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

// fileURLToPath, not .pathname: a checkout under a folder with a space would read as "%20".
const root = fileURLToPath(new URL("..", import.meta.url));

test("the package ships src/, dist/ and drizzle/ only", () => {
  const pack = Bun.spawnSync(["bun", "pm", "pack", "--dry-run"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(pack.exitCode).toBe(0);
  const files = [...`${pack.stdout}`.matchAll(/^packed \S+ (\S+)$/gm)].map((match) => match[1] as string);
  expect(files).toContain("src/app.ts");
  expect(files).toContain("drizzle/meta/_journal.json");
  expect(files.filter((file) => !/^(src|dist|drizzle)\/|^(package\.json|README\.md)$/.test(file))).toEqual([]);
});

test("the client package resolves the API's own copy of Elysia", () => {
  const fromClient = realpathSync(Bun.resolveSync("elysia", `${root}clients/web`));
  expect(fromClient).toBe(realpathSync(Bun.resolveSync("elysia", root)));
});
