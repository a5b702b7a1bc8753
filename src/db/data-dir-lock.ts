// The embedded database belongs to one process: two PGlite instances on the same files lose
// acknowledged writes. flock(2) is the lock the kernel drops when its holder dies, even by
// `kill -9`, so a crash never leaves a stale lock behind (a pid file or mkdir lock would). It is
// taken on the folder itself, which cannot be deleted or swapped while it holds the database; the
// file todo-api.lock inside it only tells a second start who holds the lock.
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, realpathSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const LOCK_EX = 2;
const LOCK_NB = 4;
// glibc's name, which the Docker image (oven/bun:*-slim, Debian) has. musl's loader answers any
// `libc.*` name with itself (ldso/dynlink.c, load_library), so the same name serves Alpine.
const libc = process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6";

/** The embedded database's folder cannot be used: held by another process, or not a writable folder. */
export class DataDirectoryError extends Error {
  override name = "DataDirectoryError";
}

const codeOf = (error: unknown) => (error as { code?: string }).code ?? String(error);

let flock: ((fd: number, operation: number) => number) | undefined;
function flockOf(): (fd: number, operation: number) => number {
  try {
    flock ??= dlopen(libc, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }).symbols.flock;
  } catch (error) {
    throw new DataDirectoryError(
      `the embedded database's folder cannot be locked: no flock from ${libc} (${(error as Error).message}); set DATABASE_URL, or PGLITE_DATA_DIR=memory://`,
    );
  }
  return flock;
}

/**
 * The real folder PGLITE_DATA_DIR names, created if need be, or undefined when it keeps nothing on disk.
 * Every spelling of one folder (relative, `..`, `file://`, through a symlink) gives the same answer,
 * so the lock and PGlite agree on it.
 */
export function dataDirectoryOf(setting: string): string | undefined {
  if (setting.startsWith("memory://")) return undefined;
  // Any scheme, with or without `//` (`file:/srv/data` is a file URL too). PGlite's idb://, opfs-ahp://
  // and memfs2opfs:// are browser storage; anything else it would take as a folder named "x:".
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(setting)?.[1];
  if (scheme && scheme.toLowerCase() !== "file") {
    throw new DataDirectoryError(`PGLITE_DATA_DIR ${setting} is not a folder: give a path, a file:// URL or memory://`);
  }
  let path = setting;
  try {
    if (scheme) path = fileURLToPath(setting);
    mkdirSync(path, { recursive: true });
    // .native: the JS realpathSync folds `..` before following symlinks, so it can name another folder than mkdir reached.
    return realpathSync.native(path);
  } catch (error) {
    throw new DataDirectoryError(
      `PGLITE_DATA_DIR ${scheme ? setting : resolve(path)} cannot be used as the embedded database's folder (${codeOf(error)}); point it at a writable folder`,
    );
  }
}

/** Takes the lock of a folder from dataDirectoryOf for this process, or throws naming it (and its holder). Returns the release. */
export function lockDataDirectory(folder: string): () => void {
  let folderFd: number;
  try {
    folderFd = openSync(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    throw new DataDirectoryError(
      `PGLITE_DATA_DIR ${folder} cannot be used as the embedded database's folder (${codeOf(error)}); point it at a writable folder`,
    );
  }
  if (flockOf()(folderFd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(folderFd);
    const holder = holderOf(folder);
    throw new DataDirectoryError(
      `the embedded database in ${folder} is in use by another process${holder ? ` (pid ${holder})` : ""}; stop it or set PGLITE_DATA_DIR to another folder`,
    );
  }
  let pidFd: number;
  try {
    pidFd = openPidFile(folder, constants.O_RDWR | constants.O_CREAT);
  } catch (error) {
    closeSync(folderFd);
    throw error;
  }
  ftruncateSync(pidFd);
  writeSync(pidFd, `${process.pid}\n`, 0);
  return () => {
    closeSync(pidFd);
    closeSync(folderFd);
  };
}

/**
 * The file that names the holder, opened only if it is a regular file of this user's with one link:
 * a symlink or hard link planted under its name must not get its target truncated, overwritten or printed.
 */
function openPidFile(folder: string, flags: number): number {
  const path = join(folder, "todo-api.lock");
  const notOurs = () =>
    new DataDirectoryError(`${path} is not a regular file owned by this user; remove it, or set PGLITE_DATA_DIR to another folder`);
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if (codeOf(error) === "ELOOP") throw notOurs();
    throw new DataDirectoryError(
      `PGLITE_DATA_DIR ${folder} cannot be used as the embedded database's folder (${codeOf(error)}); point it at a writable folder`,
    );
  }
  const stats = fstatSync(fd);
  if (!stats.isFile() || stats.uid !== process.getuid?.() || stats.nlink !== 1) {
    closeSync(fd);
    throw notOurs();
  }
  return fd;
}

/** The holder's pid, when its file says; nothing else the file may hold is ever printed. */
function holderOf(folder: string): string | undefined {
  try {
    const fd = openPidFile(folder, constants.O_RDONLY);
    const buffer = Buffer.alloc(16);
    const text = buffer.toString("utf8", 0, readSync(fd, buffer, 0, buffer.length, 0)).trim();
    closeSync(fd);
    return /^\d+$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
