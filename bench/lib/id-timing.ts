// Can a caller tell another user's todo id from a missing one by timing? Both must answer 404 and
// cost the same. Interleaved pairs (missing, another user's) over one keep-alive connection, so
// drift and background load fall on both alike; the median of the pairwise differences is reported.
import { percentile } from "./open-loop";

export type IdTimingResult = { pairs: number; missingP50Us: number; othersP50Us: number; medianDifferenceUs: number; ci95Us: number };

async function timeGet(url: string, userId: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { "x-user-id": userId } });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  if (response.status !== 404) throw new Error(`expected 404 from ${url}, got ${response.status}`);
  return elapsed * 1000;
}

export async function measureIdTiming(baseUrl: string, probingUser: string, othersTodoId: string, pairs = 15_000): Promise<IdTimingResult> {
  const missing: number[] = [];
  const others: number[] = [];
  const differences: number[] = [];
  for (let i = 0; i < pairs + 500; i++) {
    const missingUrl = `${baseUrl}/api/v1/todos/${crypto.randomUUID()}`;
    const othersUrl = `${baseUrl}/api/v1/todos/${othersTodoId}`;
    // Alternate which goes first, so neither always follows the other.
    const [a, b] = i % 2 === 0 ? [missingUrl, othersUrl] : [othersUrl, missingUrl];
    const first = await timeGet(a, probingUser);
    const second = await timeGet(b, probingUser);
    if (i < 500) continue; // warm-up
    const [m, o] = i % 2 === 0 ? [first, second] : [second, first];
    missing.push(m);
    others.push(o);
    differences.push(o - m);
  }
  const sorted = (values: number[]) => values.toSorted((x, y) => x - y);
  const mean = differences.reduce((sum, d) => sum + d, 0) / differences.length;
  const sd = Math.sqrt(differences.reduce((sum, d) => sum + (d - mean) ** 2, 0) / (differences.length - 1));
  return {
    pairs,
    missingP50Us: percentile(sorted(missing), 50),
    othersP50Us: percentile(sorted(others), 50),
    medianDifferenceUs: percentile(sorted(differences), 50),
    ci95Us: (1.96 * sd) / Math.sqrt(differences.length),
  };
}

export function idTimingTable(t: IdTimingResult): string[] {
  const us = (value: number) => value.toFixed(1);
  return [
    "## Another user's id against a missing one",
    "",
    `${t.pairs} interleaved pairs of \`GET /api/v1/todos/:id\`, each answered 404: a random id, and a todo of another user.`,
    "",
    "| missing id, median µs | another user's id, median µs | median of the pairwise differences, µs | 95% interval of the mean difference, ± µs |",
    "|--:|--:|--:|--:|",
    `| ${us(t.missingP50Us)} | ${us(t.othersP50Us)} | ${us(t.medianDifferenceUs)} | ${us(t.ci95Us)} |`,
    "",
  ];
}
