// Telling every instance whose todos changed: after a change commits, its user's id goes out on the changes
// channel (Postgres NOTIFY, heard by one listening session per instance, this one's too). Ids only, never a
// todo's text.
//
// Announced by the instance, not by a trigger in the writing transaction: a transaction that notifies holds
// one lock for the whole server through its commit, which made every write wait for every other (bench/README.md).
// So the ids are gathered and sent a batch at a time, one notifying statement in flight per instance. An
// announcement lost (the statement failed, the instance stopped after a commit) is made up for by live.ts,
// which compares its streams with their users' positions at every heartbeat.
import type { Database } from "../db/connect";
import { errorFields, type Logger } from "../log";

/** The channel changes are announced on, with the users' ids separated by spaces. */
export const CHANGES_CHANNEL = "todo_changes";

// Postgres refuses a payload of 8,000 bytes or more.
const PAYLOAD_BYTES = 7_900;
const SEPARATOR = " ";

/** The user ids of a notification's payload. */
export const usersIn = (payload: string): string[] => payload.split(SEPARATOR);

/** Payloads carrying `userIds` (ids are ASCII), each under Postgres's limit. */
export function payloadsOf(userIds: Iterable<string>): string[] {
  const payloads: string[] = [];
  let current = "";
  for (const id of userIds) {
    if (current && current.length + SEPARATOR.length + id.length > PAYLOAD_BYTES) {
      payloads.push(current);
      current = "";
    }
    current = current ? current + SEPARATOR + id : id;
  }
  if (current) payloads.push(current);
  return payloads;
}

export function changeAnnouncer(notify: Database["notify"], logger: Logger) {
  const waiting = new Set<string>();
  let sending: Promise<void> | undefined;

  // While one batch is being sent, the next gathers: under load a notification carries many users, and at
  // rest each goes out at once.
  async function send() {
    while (waiting.size > 0) {
      const batch = payloadsOf(waiting);
      waiting.clear();
      for (const payload of batch) {
        try {
          await notify(CHANGES_CHANNEL, payload);
        } catch (error) {
          logger.warn("could not announce changes; live streams catch up at their next heartbeat", errorFields(error, { stack: false }));
        }
      }
    }
    sending = undefined;
  }

  return {
    /** The user's todos changed (committed). */
    changed(userId: string) {
      waiting.add(userId);
      sending ??= send();
    },
    /** Resolves when what was announced so far has been sent (tests, shutdown). */
    settled: () => sending ?? Promise.resolve(),
  };
}

export type ChangeAnnouncer = ReturnType<typeof changeAnnouncer>;
