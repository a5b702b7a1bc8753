// A strict reader of the Prometheus text format (version 0.0.4), so a test can say "/metrics parses"
// and mean it: every line is a HELP, a TYPE, or a sample of a family declared before it; names, label
// syntax, escapes and values are checked, and a series given twice is an error.

export type Sample = { name: string; labels: Record<string, string>; value: number };
export type Family = { name: string; type: string; help: string; samples: Sample[] };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
// A histogram's samples are name_bucket, name_sum and name_count; a summary's name, name_sum, name_count.
const SUFFIXES: Record<string, string[]> = {
  counter: ["", "_total"],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"],
};

function parseValue(raw: string, line: number): number {
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
  const special = /^([-+]?)(inf|infinity|nan)$/i.exec(raw);
  if (special) return special[2]?.toLowerCase() === "nan" ? Number.NaN : (special[1] === "-" ? -1 : 1) * Number.POSITIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`line ${line}: "${raw}" is not a number`);
  return Number(raw);
}

/** `{a="x",b="y\"z"}` from position `start` (its "{"); the labels and the position after "}". */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (text[i] !== "}") {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: a label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${line}: label ${name} given twice`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label ${name}'s value is not quoted`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`line ${line}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected "," or "}" after label ${name}`);
  }
  return { labels, end: i + 1 };
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a line break");
  text
    .slice(0, -1)
    .split("\n")
    .forEach((raw, index) => {
      const line = index + 1;
      if (raw === "") return;
      const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (comment) {
        const [, kind, name = "", rest = ""] = comment;
        if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
        const family = families.get(name) ?? { name, type: "untyped", help: "", samples: [] };
        if (family.samples.length > 0) throw new Error(`line ${line}: ${kind} for ${name} after its samples`);
        if (kind === "TYPE") {
          if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type "${rest}"`);
          family.type = rest;
        } else family.help = rest;
        families.set(name, family);
        return;
      }
      if (raw.startsWith("#")) return;
      const nameEnd = raw.search(/[{ ]/);
      const name = raw.slice(0, nameEnd);
      if (nameEnd < 0 || !NAME.test(name)) throw new Error(`line ${line}: bad sample "${raw}"`);
      const { labels, end } = raw[nameEnd] === "{" ? parseLabels(raw, nameEnd, line) : { labels: {}, end: nameEnd };
      const fields = raw.slice(end).trim().split(" ");
      if (raw[end] !== " " || fields.length < 1 || fields.length > 2) throw new Error(`line ${line}: bad value part in "${raw}"`);
      const value = parseValue(fields[0] as string, line);
      const family = [...families.values()].find((f) => (SUFFIXES[f.type] ?? [""]).some((suffix) => `${f.name}${suffix}` === name));
      if (!family) throw new Error(`line ${line}: sample ${name} belongs to no declared family`);
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error(`line ${line}: series ${key} given twice`);
      seen.add(key);
      family.samples.push({ name, labels, value });
    });
  return families;
}

/** The value of the sample with exactly these labels, or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      const same = Object.keys(sample.labels).length === Object.keys(labels).length;
      if (sample.name === name && same && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) return sample.value;
    }
  }
  return undefined;
}
