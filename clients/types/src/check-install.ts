// `bun clients/types/src/check-install.ts`, after `bun run build` (CI runs it): what a front end outside this
// workspace gets from todo-api-types. The package is packed and installed in a temporary folder beside
// Eden, Elysia, openapi-fetch and TypeScript 5 at the versions the API pins; the check fails unless the
// package is declarations only and under 5 MB, nothing of the server was installed, and a consumer using
// both treaty<App> and createClient<paths> type-checks, a wrong call included as a @ts-expect-error.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

const MAX_PACKAGE_BYTES = 5_000_000;

const packageFolder = fileURLToPath(new URL("..", import.meta.url));
type Manifest = {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const read = async (path: string) => (await Bun.file(path).json()) as Manifest;
const root = await read(join(packageFolder, "../../package.json"));
const types = await read(join(packageFolder, "package.json"));
const elysia = await read(join(packageFolder, "../../node_modules/elysia/package.json"));

const pinned = (name: string) => root.dependencies?.[name] ?? root.devDependencies?.[name] ?? fail(`the root does not pin ${name}`);
// A front end's TypeScript is 5.x: the one the root keeps as typescript-5 (its own tsc is TypeScript 7).
const consumerDependencies = {
  "@elysiajs/eden": pinned("@elysiajs/eden"),
  elysia: pinned("elysia"),
  "openapi-fetch": pinned("openapi-fetch"),
  typescript: pinned("typescript-5").replace(/^npm:typescript@/, ""),
};
if (types.peerDependencies?.elysia !== consumerDependencies.elysia)
  fail(`clients/types/package.json: the peer elysia is ${types.peerDependencies?.elysia}, the API pins ${consumerDependencies.elysia}`);

// The server's own packages: the API's runtime dependencies and their scopes, less Elysia and what
// Elysia's types need, which Eden needs too.
const shared = new Set(["elysia", ...Object.keys(elysia.peerDependencies ?? {}), ...Object.keys(consumerDependencies)]);
const serverPackages = Object.keys(root.dependencies ?? {}).filter((name) => !shared.has(name));
const serverScopes = new Set(serverPackages.filter((name) => name.startsWith("@")).map((name) => name.split("/")[0]));
const isServerOnly = (name: string) => !shared.has(name) && (serverPackages.includes(name) || serverScopes.has(name.split("/")[0]));

const consumer = `import { treaty } from "@elysiajs/eden";
import createClient from "openapi-fetch";
import type { App, components, paths } from "todo-api-types";

const eden = treaty<App>("http://localhost:3000", { parseDate: false });
export async function edenCalls() {
  const created = await eden.api.v1.todos.post({ title: "Buy milk", description: null });
  const title: string | undefined = created.data?.title;
  // @ts-expect-error a title is a string
  await eden.api.v1.todos.post({ title: 42 });
  // @ts-expect-error there is no such route
  await eden.api.v1.lists.get();
  return title;
}

const client = createClient<paths>({ baseUrl: "http://localhost:3000" });
export async function openapiFetchCalls() {
  const page = await client.GET("/api/v1/todos", { params: { query: { limit: 2 } } });
  const todos: components["schemas"]["Todo"][] | undefined = page.data?.items;
  // @ts-expect-error limit is a number
  await client.GET("/api/v1/todos", { params: { query: { limit: "two" } } });
  return todos;
}
`;
// What clients/web uses: no Bun or Node types; skipLibCheck, as Elysia's own declarations need Bun's.
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "bundler",
    lib: ["ES2022", "DOM"],
    types: [],
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
    verbatimModuleSyntax: true,
  },
  files: ["consumer.ts"],
};

const folder = mkdtempSync(join(tmpdir(), "todo-api-types-"));
try {
  const tarball = basename(run(["bun", "pm", "pack", "--quiet", "--destination", folder], packageFolder).trim());
  await Bun.write(
    join(folder, "package.json"),
    JSON.stringify({ private: true, type: "module", dependencies: { "todo-api-types": `file:./${tarball}`, ...consumerDependencies } }),
  );
  await Bun.write(join(folder, "tsconfig.json"), JSON.stringify(tsconfig));
  await Bun.write(join(folder, "consumer.ts"), consumer);
  run(["bun", "install"], folder);

  const modules = join(folder, "node_modules");
  const packageFiles = filesUnder(join(modules, "todo-api-types"));
  // .bun-tag: Bun's own mark on a package it extracted.
  const code = packageFiles.filter((file) => !/^(package\.json|README\.md|\.bun-tag|.+\.d\.ts)$/.test(file.path));
  if (code.length > 0) fail(`todo-api-types ships more than declarations: ${code.map((file) => file.path).join(", ")}`);
  const packageBytes = sum(packageFiles);
  if (packageBytes >= MAX_PACKAGE_BYTES) fail(`todo-api-types takes ${mb(packageBytes)} installed, the limit is ${mb(MAX_PACKAGE_BYTES)}`);
  const installed = packagesUnder(modules);
  const server = installed.filter(isServerOnly);
  if (server.length > 0) fail(`installing todo-api-types brought the server's packages: ${server.join(", ")}`);

  run([process.execPath, join(modules, "typescript/bin/tsc"), "-p", "."], folder);
  console.log(
    `todo-api-types: ${mb(packageBytes)} installed, ${packageFiles.length} files, declarations only; a front end with it and ` +
      `${Object.entries(consumerDependencies)
        .map(([name, version]) => `${name} ${version}`)
        .join(", ")}: ${mb(sum(filesUnder(modules)))} in node_modules (${installed.length} packages), none of the server's; ` +
      "treaty<App> and createClient<paths> type-check",
  );
} finally {
  rmSync(folder, { recursive: true, force: true });
}

function run(command: string[], cwd: string): string {
  const done = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe" });
  if (done.exitCode !== 0) fail(`${command.join(" ")} (in ${cwd}) failed:\n${done.stdout}${done.stderr}`);
  return `${done.stdout}`;
}

function fail(message: string): never {
  throw new Error(`check-install: ${message}`);
}

/** Every regular file, with its size: symbolic links (node_modules/.bin) are not counted. */
function filesUnder(folder: string): { path: string; bytes: number }[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path: path.slice(folder.length + 1), bytes: statSync(path).size };
    });
}

/** The name of every installed package, nested node_modules included. */
function packagesUnder(modules: string): string[] {
  const names = readdirSync(modules)
    .filter((entry) => !entry.startsWith("."))
    .flatMap((entry) => (entry.startsWith("@") ? readdirSync(join(modules, entry)).map((name) => `${entry}/${name}`) : [entry]));
  return names.flatMap((name) => {
    const nested = join(modules, name, "node_modules");
    return [name, ...(existsSync(nested) ? packagesUnder(nested) : [])];
  });
}

function sum(files: { bytes: number }[]): number {
  return files.reduce((total, file) => total + file.bytes, 0);
}

function mb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(2)} MB`;
}
