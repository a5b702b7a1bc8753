// A Prometheus histogram made for the request path: each label set is found once and kept, and an
// observation is then a few additions. prom-client's own Histogram validates and hashes the labels on
// every observe, which with the request counter was a tenth of a retrieve's JavaScript time in a
// profile (bench/results.md). prom-client still renders it: the registry takes any metric with get().
import type { Metric, Registry } from "prom-client";

type Labels = Record<string, string>;
type Series = { labels: Labels; counts: number[]; sum: number; count: number };
type Sample = { labels: Labels; value: number; metricName: string };

export type Observe = (value: number) => void;

export class RecordedHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private all: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of these labels, made now: keep what this returns and observe through it. */
  series(labels: Labels): Observe & { count(): number } {
    const series: Series = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.all.push(series);
    const { buckets } = this;
    const observe = (value: number) => {
      let bucket = 0;
      while (bucket < buckets.length && value > (buckets[bucket] as number)) bucket++;
      if (bucket < buckets.length) series.counts[bucket] = (series.counts[bucket] as number) + 1;
      series.sum += value;
      series.count++;
    };
    return Object.assign(observe, { count: () => series.count });
  }

  /** What prom-client's registry renders: cumulative buckets, +Inf, sum and count, per series. */
  get() {
    const values: Sample[] = [];
    for (const { labels, counts, sum, count } of this.all) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i] as number;
        values.push({ labels: { ...labels, le: String(bound) }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: "+Inf" }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** registry.resetMetrics(): every series back to zero (kept, as their holders keep them). */
  reset() {
    for (const series of this.all) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
