/**
 * A small Prometheus registry: counters, gauges (set or computed at scrape time) and
 * histograms, with labels, rendered in the text exposition format (version 0.0.4).
 * @module
 */

type Labels = Record<string, string>;

const key = (l: Labels) => JSON.stringify(Object.entries(l).sort());
const fmtLabels = (l: Labels, extra?: [string, string]) => {
  const all = Object.entries(l);
  if (extra) all.push(extra);
  if (all.length === 0) return "";
  return `{${
    all.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`)}"`)
      .join(",")
  }}`;
};

interface Metric {
  render(): string;
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  readonly #values = new Map<string, { labels: Labels; v: number }>();
  constructor(readonly name: string, readonly help: string) {}
  /** Adds `by` (default 1). */
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const cur = this.#values.get(k);
    if (cur) cur.v += by;
    else this.#values.set(k, { labels, v: by });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, v } of this.#values.values()) {
      lines.push(`${this.name}${fmtLabels(labels)} ${v}`);
    }
    return lines.join("\n");
  }
}

/** A value per label set, set directly or collected at scrape time. */
export class Gauge implements Metric {
  readonly #values = new Map<string, { labels: Labels; v: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect?: () => { labels?: Labels; value: number }[],
  ) {}
  /** Sets the value for `labels`. */
  set(value: number, labels: Labels = {}): void {
    this.#values.set(key(labels), { labels, v: value });
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    const rows = this.collect
      ? this.collect().map((r) => ({ labels: r.labels ?? {}, v: r.value }))
      : [...this.#values.values()];
    for (const { labels, v } of rows) lines.push(`${this.name}${fmtLabels(labels)} ${v}`);
    return lines.join("\n");
  }
}

/** Observations bucketed by upper bound, per label set. */
export class Histogram implements Metric {
  readonly #series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; n: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
  ) {}
  /** Records one observation. */
  observe(value: number, labels: Labels = {}): void {
    const k = key(labels);
    let s = this.#series.get(k);
    if (!s) this.#series.set(k, s = { labels, counts: this.buckets.map(() => 0), sum: 0, n: 0 });
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.n++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      this.buckets.forEach((b, i) =>
        lines.push(`${this.name}_bucket${fmtLabels(s.labels, ["le", String(b)])} ${s.counts[i]}`)
      );
      lines.push(`${this.name}_bucket${fmtLabels(s.labels, ["le", "+Inf"])} ${s.n}`);
      lines.push(`${this.name}_sum${fmtLabels(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${fmtLabels(s.labels)} ${s.n}`);
    }
    return lines.join("\n");
  }
}

/** A set of metrics rendered together at `/metrics`. */
export class Registry {
  readonly #metrics: Metric[] = [];
  readonly #sources: (() => Promise<string>)[] = [];
  /** Adds a metric and returns it. */
  register<M extends Metric>(m: M): M {
    this.#metrics.push(m);
    return m;
  }
  /**
   * Adds exposition text sampled at scrape time by `source` (another component's metrics that
   * are only known asynchronously, e.g. a co-located worker's per-task samples from its
   * runtime); its metric names must not repeat this registry's. Returns a function removing it.
   */
  addSource(source: () => Promise<string>): () => void {
    this.#sources.push(source);
    return () => {
      const i = this.#sources.indexOf(source);
      if (i >= 0) this.#sources.splice(i, 1);
    };
  }
  /** The exposition text of the registered metrics. */
  render(): string {
    return this.#metrics.map((m) => m.render()).join("\n") + "\n";
  }
  /** The registered metrics and every source's text; a failing source is left out. */
  async renderAll(): Promise<string> {
    const extra = await Promise.all(this.#sources.map((s) => s().catch(() => "")));
    return [this.render(), ...extra.filter((t) => t !== "")].join("");
  }
}
