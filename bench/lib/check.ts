// Before any load: the service and the floor must give the same answers, or the comparison is void.

export type Probe = {
  name: string;
  method: "GET" | "POST" | "PATCH";
  path: string;
  userId: string;
  body?: string;
  status: number;
  /** For a list: the number of items the fixtures hold. */
  count?: number;
};

type Answer = { status: number; body: unknown };

async function ask(baseUrl: string, probe: Probe): Promise<Answer> {
  const headers: Record<string, string> = { "x-user-id": probe.userId };
  if (probe.body) headers["content-type"] = "application/json";
  const response = await fetch(baseUrl + probe.path, { method: probe.method, headers, body: probe.body });
  return { status: response.status, body: await response.json() };
}

/** Created rows differ in id and time, so a create is compared by its keys only; an update by all but the
 * instant it was made (updated_at); errors by status only (the floor's problem bodies are deliberately plain). */
function comparable(probe: Probe, body: unknown): unknown {
  if (probe.status >= 400) return undefined;
  if (typeof body !== "object" || body === null) return body;
  if (probe.method === "POST") return Object.keys(body).sort();
  if (probe.method === "PATCH") return { ...body, updated_at: typeof (body as { updated_at?: unknown }).updated_at };
  return body;
}

export async function checkSameAnswers(serviceUrl: string, floorUrl: string, probes: Probe[]): Promise<void> {
  for (const probe of probes) {
    const service = await ask(serviceUrl, probe);
    const floor = await ask(floorUrl, probe);
    const problem =
      service.status !== probe.status
        ? `the service answered ${service.status}`
        : floor.status !== probe.status
          ? `the floor answered ${floor.status}`
          : !Bun.deepEquals(comparable(probe, service.body), comparable(probe, floor.body))
            ? "the service and the floor answered different bodies"
            : probe.count !== undefined && (service.body as { count?: unknown }).count !== probe.count
              ? `the list does not hold ${probe.count} items`
              : undefined;
    if (problem) {
      throw new Error(`${probe.name}: expected ${probe.status}, but ${problem}:\n${JSON.stringify({ service, floor }).slice(0, 2000)}`);
    }
  }
}
