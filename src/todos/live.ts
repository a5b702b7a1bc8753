// Live changes: each open stream follows one user's change feed. Every instance announces the users whose
// todos it changed, with their positions (announce.ts), heard on one listening session per instance; a stream
// woken by one reads what it has not sent from the feed itself. So a stream sends exactly what the feed holds, in its order,
// whatever announcements were lost: after a reconnect of the listening session every stream reads again,
// and at every heartbeat the streams behind their user's last position do.
import { databaseUnavailable } from "../http/errors";
import { errorFields, type Logger } from "../log";
import { CHANGES_CHANNEL } from "./announce";
import { streamsFull, syncTokenExpired, tooManyStreams } from "./problems";
import type { FeedPage, PlacedChange, TodoStore } from "./store";
import { encodeSyncToken, type SyncPosition } from "./sync-token";

/** What an instance listens with: Database["listen"] on the changes channel. */
export type Listen = (channel: string, onNotify: (payload: string) => void, onListen: () => void) => Promise<() => Promise<void>>;

export type LiveOptions = {
  store: Pick<TodoStore, "changes" | "lastPositions">;
  listen: Listen;
  heartbeatS: number;
  maxStreamsPerUser: number;
  maxStreams: number;
  logger: Logger;
};

/** Changes read per feed call while a stream catches up. */
const FEED_PAGE = 100;
/**
 * What a stream holds for a client that reads slowly, or not at all: past it, the stream stops reading the
 * feed until the client has taken what was sent, so a slow client costs this much memory, not its whole feed.
 */
const BUFFERED_BYTES = 64 * 1024;
/** The longest delay a timer takes (longer ones fire at once). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
const encoder = new TextEncoder();

type Stream = {
  userId: string;
  /** The last change sent: the next read starts after it. */
  since: SyncPosition;
  reading: boolean;
  /** Woken while reading: read again when done. */
  woken: boolean;
  /** Stopped reading for a client that is behind: read on when it has caught up. */
  stalled: boolean;
  closed: boolean;
  /** The client has not yet taken BUFFERED_BYTES of what was sent. */
  behind(): boolean;
  write(text: string): void;
  close(): void;
};

/** One change as a server-sent event; its id resumes the stream after it (Last-Event-ID). */
const eventOf = ({ change, at }: PlacedChange) => `id: ${encodeSyncToken(at)}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`;

export function liveChanges({ store, listen, heartbeatS, maxStreamsPerUser, maxStreams, logger }: LiveOptions) {
  const byUser = new Map<string, Set<Stream>>();
  let open = 0;
  let listening: Promise<() => Promise<void>> | undefined;
  let checking = false;

  const every = function* () {
    for (const streams of byUser.values()) yield* streams;
  };

  // "<user id> <position>": only streams of that user that have not sent that position yet.
  function announced(payload: string) {
    const [userId = "", position = ""] = payload.split(" ");
    for (const stream of byUser.get(userId) ?? []) if (stream.since.position < Number(position)) wake(stream);
  }

  // Every stream behind its user's last position reads on: what a lost announcement would have woken.
  async function catchUp() {
    if (checking || byUser.size === 0) return;
    checking = true;
    try {
      const last = await store.lastPositions([...byUser.keys()]);
      for (const stream of every()) if (stream.since.position < (last.get(stream.userId) ?? 0)) wake(stream);
    } catch (error) {
      logger.warn("could not check the live streams' positions", errorFields(error, { stack: false }));
    } finally {
      checking = false;
    }
  }

  // One timer for the instance, made with it (not by a request): a heartbeat to each stream (a client that is
  // behind has data waiting, and needs none), then the check for lost announcements.
  const heartbeat = setInterval(() => {
    for (const each of every()) if (!each.behind()) each.write(":\n\n");
    void catchUp();
  }, heartbeatS * 1000);
  heartbeat.unref();

  function wake(stream: Stream) {
    if (stream.reading) stream.woken = true;
    else void follow(stream);
  }

  // Reads and sends until the feed has nothing more for the stream, or the client is behind; one reader per
  // stream at a time.
  async function follow(stream: Stream, first?: FeedPage) {
    stream.reading = true;
    try {
      let page = first;
      for (;;) {
        if (stream.behind()) {
          stream.stalled = true;
          return;
        }
        stream.woken = false;
        page ??= await store.changes(stream.userId, { since: stream.since, limit: FEED_PAGE });
        if (stream.closed) return;
        // The feed cannot go on from the last event (deletes after it forgotten meanwhile): the client
        // reconnects, and is told 410.
        if (page === "resync") return stream.close();
        for (const change of page.changes) stream.write(eventOf(change));
        stream.since = page.next;
        const more = page.hasMore || stream.woken;
        page = undefined;
        if (!more) return;
      }
    } catch (error) {
      // The client reconnects with the last event's id and loses nothing.
      logger.warn("a live stream could not read the change feed; closing it", errorFields(error, { stack: false }));
      stream.close();
    } finally {
      stream.reading = false;
    }
  }

  function startListening() {
    listening ??= listen(CHANGES_CHANNEL, announced, () => {
      for (const stream of every()) wake(stream);
    }).catch((error) => {
      listening = undefined;
      throw error;
    });
    return listening;
  }

  function add(stream: Stream) {
    const streams = byUser.get(stream.userId) ?? new Set();
    byUser.set(stream.userId, streams.add(stream));
    open++;
  }

  function remove(stream: Stream) {
    const streams = byUser.get(stream.userId);
    if (!streams?.delete(stream)) return;
    open--;
    if (streams.size === 0) byUser.delete(stream.userId);
  }

  return {
    /**
     * A stream of the user's changes after `since`: first those the feed holds, then each as it happens. Until
     * `expiresAt` (the caller's token's expiry), the client's disconnect, or close(). Throws the ApiError of a
     * stream that cannot be opened: too many, `since` forgotten (410), the database away.
     */
    async open(userId: string, since: SyncPosition, expiresAt: number | null): Promise<ReadableStream<Uint8Array>> {
      if ((byUser.get(userId)?.size ?? 0) >= maxStreamsPerUser) throw tooManyStreams(maxStreamsPerUser);
      if (open >= maxStreams) throw streamsFull();
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      let expiry: ReturnType<typeof setTimeout> | undefined;
      const stream: Stream = {
        userId,
        since,
        // Reading from the start: a change announced during the first read wakes it to read again after.
        reading: true,
        woken: false,
        stalled: false,
        closed: false,
        behind: () => (controller.desiredSize ?? 0) <= 0,
        write(text) {
          if (!this.closed) controller.enqueue(encoder.encode(text));
        },
        close() {
          if (this.closed) return;
          forget();
          controller.close();
        },
      };
      const forget = () => {
        stream.closed = true;
        clearTimeout(expiry);
        remove(stream);
      };
      const body = new ReadableStream<Uint8Array>(
        {
          start(streamController) {
            controller = streamController;
          },
          // The client has taken what was sent: a stream that stopped for it reads on.
          pull() {
            if (!stream.stalled) return;
            stream.stalled = false;
            wake(stream);
          },
          // The client went away: the body is closed already.
          cancel: forget,
        },
        new ByteLengthQueuingStrategy({ highWaterMark: BUFFERED_BYTES }),
      );
      // Counted before anything is awaited, so that streams opened at once cannot pass the limits together; and
      // listed before the first read, so that no change announced meanwhile is missed.
      add(stream);
      let first: FeedPage;
      try {
        await startListening().catch((error) => {
          logger.warn("cannot listen for changes", errorFields(error, { stack: false }));
          throw databaseUnavailable();
        });
        first = await store.changes(userId, { since, limit: FEED_PAGE });
      } catch (error) {
        stream.close();
        throw error;
      }
      if (first === "resync") {
        stream.close();
        throw syncTokenExpired();
      }
      // Client: retry after 1 s on a dropped connection (EventSource's default is about 3 s).
      stream.write("retry: 1000\n\n");
      // A token valid for weeks outlasts the longest timer: armed again until its expiry is near.
      const endAtExpiry = (at: number) => {
        const left = at - Date.now();
        expiry = setTimeout(
          () => (left > LONGEST_TIMER_MS ? endAtExpiry(at) : stream.close()),
          Math.min(Math.max(0, left), LONGEST_TIMER_MS),
        );
      };
      if (expiresAt !== null) endAtExpiry(expiresAt);
      void follow(stream, first);
      return body;
    },

    /** Open streams: this user's, or all. */
    count: (userId?: string) => (userId === undefined ? open : (byUser.get(userId)?.size ?? 0)),

    /** Ends every stream and stops listening (shutdown: draining does not wait for streams). */
    async close() {
      clearInterval(heartbeat);
      for (const stream of [...every()]) stream.close();
      const unlisten = await listening?.catch(() => undefined);
      listening = undefined;
      await unlisten?.();
    },
  };
}

export type LiveChanges = ReturnType<typeof liveChanges>;
