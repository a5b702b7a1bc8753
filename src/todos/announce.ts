// Telling every instance whose todos changed: after a change commits, its user goes out on the changes channel
// (Postgres NOTIFY, heard by one listening session per instance, this one's too) as "<user id> <position>": ids
// and the user's last change position, never a todo's text.
//
// Announced by the instance, not by a trigger in the writing transaction: a transaction that notifies holds one
// lock for the whole server through its commit, which made every write wait for every other (bench/README.md).
// So users are announced a batch at a time, one statement in flight per instance and at most one per GATHER_MS,
// however many changes (bench/README.md). An announcement lost (the statement failed, the instance stopped after
// a commit) is made up for by live.ts, which compares its streams with their users' positions at every heartbeat.
import { AsyncResource } from "node:async_hooks";
import { errorFields, type Logger } from "../log";

export const CHANGES_CHANNEL = "todo_changes";
/** The least time between two announcing statements: how late a change that follows another can be heard. */
const GATHER_MS = 10;

/** Sends one notification per user on CHANGES_CHANNEL: TodoStore["announce"]. */
export type Announce = (userIds: string[]) => Promise<void>;

export function changeAnnouncer(announce: Announce, logger: Logger) {
  const waiting = new Set<string>();
  let sending: Promise<void> | undefined;

  // A change after a quiet spell goes out at once; the changes that follow gather while it is sent and for
  // GATHER_MS after, and go out together. The instance's work, not a request's: run outside the context of the
  // request whose change started it (its trace, and the test suite's audit of that caller's statements).
  const send = AsyncResource.bind(async () => {
    while (waiting.size > 0) {
      const batch = [...waiting];
      waiting.clear();
      try {
        await announce(batch);
      } catch (error) {
        logger.warn("could not announce changes; live streams catch up at their next heartbeat", errorFields(error, { stack: false }));
      }
      await Bun.sleep(GATHER_MS);
    }
    sending = undefined;
  });

  return {
    /** The user's todos changed (committed). */
    changed(userId: string) {
      waiting.add(userId);
      sending ??= send();
    },
    /** Resolves when what was announced so far has been sent (shutdown, before the database closes). */
    settled: () => sending ?? Promise.resolve(),
  };
}
