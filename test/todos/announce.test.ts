// How an instance announces its users' changes (src/todos/announce.ts): what goes out, and in how many
// statements. `announce` is the store's statement in the service; here it records each batch it is given.
import { expect, test } from "bun:test";
import { createLogger } from "../../src/log";
import { changeAnnouncer } from "../../src/todos/announce";

function recorded() {
  const batches: string[][] = [];
  const announcer = changeAnnouncer(async (userIds) => {
    batches.push(userIds);
  }, createLogger("error"));
  return { batches, announcer };
}

test("a change after a quiet spell is announced at once, without waiting for others", async () => {
  const { batches, announcer } = recorded();
  announcer.changed("alice");
  // A turn of the microtask queue, no timer: the statement has been sent.
  await Promise.resolve();
  expect(batches).toEqual([["alice"]]);
  await announcer.settled();
});

test("the changes that follow gather and go out together, each user once", async () => {
  const { batches, announcer } = recorded();
  announcer.changed("alice");
  for (const user of ["bob", "carol", "bob", "alice"]) announcer.changed(user);
  await announcer.settled();
  expect(batches).toEqual([["alice"], ["bob", "carol", "alice"]]);
});

test("an announcement that fails is logged and the next ones still go out", async () => {
  const batches: string[][] = [];
  const lines: string[] = [];
  const logger = createLogger("warn", (line) => lines.push(line));
  const announcer = changeAnnouncer(async (userIds) => {
    batches.push(userIds);
    if (batches.length === 1) throw new Error("the database went away");
  }, logger);
  announcer.changed("alice");
  announcer.changed("bob");
  await announcer.settled();
  expect(batches).toEqual([["alice"], ["bob"]]);
  expect(lines.join("\n")).toContain("could not announce changes");
});
