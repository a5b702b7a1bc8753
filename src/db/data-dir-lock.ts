// The embedded database belongs to one process: two PGlite instances on the same files lose
// acknowledged writes. flock(2) is the lock the kernel drops when its holder dies, even by
// `kill -9`, so a crash never leaves a stale lock behind (a pid file or mkdir lock would).
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

const LOCK_EX = 2;
const LOCK_NB = 4;
const libc = process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6";

/** The embedded database's folder cannot be used: held by another process, or not a writable folder. */
export class DataDirectoryError extends Error {
  override name = "DataDirectoryError";
}

let flock: ((fd: number, operation: number) => number) | undefined;
function flockOf(): (fd: number, operation: number) => number {
  flock ??= dlopen(libc, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }).symbols.flock;
  return flock;
}

/** Creates the directory if need be and takes its lock for this process, or throws naming it (and its holder). Returns the release. */
export function lockDataDirectory(directory: string): () => void {
  const path = join(directory, "todo-api.lock");
  let fd: number;
  try {
    // PGlite creates only the last folder of the path; a fresh clone has no .data/ yet.
    mkdirSync(directory, { recursive: true });
    fd = openSync(path, "a+");
  } catch (error) {
    throw new DataDirectoryError(
      `PGLITE_DATA_DIR ${resolve(directory)} cannot be used as the embedded database's folder (${(error as { code?: string }).code ?? String(error)}); point it at a writable folder`,
    );
  }
  if (flockOf()(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    const holder = readFileSync(path, "utf8").trim();
    throw new DataDirectoryError(
      `the embedded database in ${resolve(directory)} is in use by another process${holder ? ` (pid ${holder})` : ""}; stop it or set PGLITE_DATA_DIR to another folder`,
    );
  }
  ftruncateSync(fd);
  writeSync(fd, `${process.pid}\n`);
  return () => closeSync(fd);
}
