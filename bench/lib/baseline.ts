// BENCH_BASELINE: the same cases against the service of another commit, on a database of its own that its own
// migrations made and the same fixtures fill, round by round beside this checkout's service.
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { $ } from "bun";

const repository = fileURLToPath(new URL("../..", import.meta.url));

export type BaselineTree = { commit: string; script: string; remove(): void };

/**
 * That commit's service, exported (git archive, no worktree to register) to a temporary directory, with this
 * checkout's node_modules: its bun.lock must match, or it would run on other packages than its own.
 */
export async function exportBaseline(ref: string): Promise<BaselineTree> {
  const commit = (await $`git rev-parse --verify ${`${ref}^{commit}`}`.cwd(repository).text()).trim();
  const [lockThen, lockNow] = await Promise.all([
    $`git show ${`${commit}:bun.lock`}`.cwd(repository).text(),
    Bun.file(`${repository}/bun.lock`).text(),
  ]);
  if (lockThen !== lockNow)
    throw new Error(`BENCH_BASELINE: ${ref}'s bun.lock differs from this checkout's; its packages are not installed here`);
  const directory = mkdtempSync(`${tmpdir()}/todo-bench-baseline-`);
  await $`git archive ${commit} src drizzle package.json tsconfig.json | tar -x -C ${directory}`.cwd(repository);
  symlinkSync(`${repository}/node_modules`, `${directory}/node_modules`);
  const script = `${directory}/src/index.ts`;
  if (!existsSync(script)) throw new Error(`BENCH_BASELINE: ${ref} has no src/index.ts`);
  return { commit, script, remove: () => rmSync(directory, { recursive: true, force: true }) };
}
