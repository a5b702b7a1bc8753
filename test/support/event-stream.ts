// Reads a text/event-stream response as a client would: events as they arrive, comments counted.
import type { TodoChange } from "../../src/todos/model";

export type ChangeEvent = { id: string; event: string; change: TodoChange };

export function eventReader(response: Response) {
  if (!response.body) throw new Error("the response has no body");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const events: ChangeEvent[] = [];
  let comments = 0;
  let buffer = "";
  let ended = false;
  let wake: () => void = () => {};
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(":")) comments++;
        const fields = Object.fromEntries(
          block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
        );
        if (fields.event) events.push({ id: fields.id ?? "", event: fields.event, change: JSON.parse(fields.data ?? "null") });
      }
      wake();
    }
    ended = true;
    wake();
  })();
  return {
    events,
    get comments() {
      return comments;
    },
    get ended() {
      return ended;
    },
    /** Waits until `count` events have arrived (or the stream ends, or `ms` pass); returns them all. */
    async waitFor(count: number, ms = 5000): Promise<ChangeEvent[]> {
      const deadline = Date.now() + ms;
      while (events.length < count && !ended && Date.now() < deadline) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), Bun.sleep(Math.max(0, deadline - Date.now()))]);
      }
      return events;
    },
    /** Waits for the stream to end (or `ms` to pass); true if it ended. */
    async waitForEnd(ms = 5000): Promise<boolean> {
      await Promise.race([pump, Bun.sleep(ms)]);
      return ended;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
