// The code the docs show is code that compiles: each fenced block that starts by naming a file of
// docs/examples/ is that file, exactly, and tsc checks those files with the rest of the project.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";

const root = new URL("../", import.meta.url);
const pages = ["README.md", "docs/auth.md", "docs/api.md"];
const BLOCK = /```ts\n(\/\/ (docs\/examples\/[\w.-]+)[\s\S]*?)```/g;

const shown = new Map<string, string>();
for (const page of pages) {
  const text = await Bun.file(new URL(page, root)).text();
  // A block inside a list is indented; its code is compared without the indent.
  const unindented = text.replace(/^ {3}(?=\S|```)/gm, "");
  for (const [, code, file] of unindented.matchAll(BLOCK)) shown.set(file as string, code as string);
}

test("every file of docs/examples is shown in the docs", () => {
  const files = readdirSync(new URL("docs/examples/", root)).filter((file) => file.endsWith(".ts"));
  expect(files.map((file) => `docs/examples/${file}`).sort()).toEqual([...shown.keys()].sort());
});

test.each([...shown.keys()])("%s in the docs is the file as it is", async (file) => {
  expect(shown.get(file)).toBe(await Bun.file(new URL(file, root)).text());
});
