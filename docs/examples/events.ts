// docs/examples/events.ts: a page following its todos live. EventSource cannot send Authorization, so the page
// reads the server-sent events with fetch, which can, and parses them itself.
export type TodoChange =
  | { type: "upsert"; todo: { id: string; title: string; description: string | null; is_completed: boolean } }
  | { type: "delete"; id: string };

/** An event's fields: each line is "name: value"; a heartbeat's one line starts with ":" and names nothing. */
const fieldsOf = (event: string) =>
  new Map(event.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]));

/** Calls onChange for each change, in order, until the stream ends or `signal` aborts; resolves with the last id. */
export async function followChanges({
  apiUrl,
  token,
  lastEventId,
  onChange,
  signal,
}: {
  apiUrl: string;
  token: string;
  /** The id of the last event applied: the stream resumes after it. Without it, every todo comes first. */
  lastEventId?: string;
  onChange(change: TodoChange, id: string): void;
  signal?: AbortSignal;
}): Promise<string | undefined> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (lastEventId) headers["last-event-id"] = lastEventId;
  const response = await fetch(`${apiUrl}/api/v1/todos/events`, { headers, signal });
  // 401 TOKEN_EXPIRED: take a new token. 410 SYNC_TOKEN_EXPIRED: drop what you hold and follow without an id.
  if (!response.ok || !response.body) throw new Error(`the stream was refused: ${response.status} ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // An event ends with a blank line.
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const fields = fieldsOf(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        const [id, data] = [fields.get("id"), fields.get("data")];
        if (fields.get("event") !== "change" || id === undefined || data === undefined) continue;
        onChange(JSON.parse(data), id);
        lastEventId = id;
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
  // The stream ends when the token expires (or the API restarts): call again with a new token and this id.
  return lastEventId;
}
