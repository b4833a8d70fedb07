import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "./metrics.ts";

Deno.test("metrics: counters, gauges and histograms render in Prometheus text format", () => {
  const r = new Registry();
  const c = r.register(new Counter("warren_requests_total", "Requests."));
  c.inc({ method: "List" });
  c.inc({ method: "List" }, 2);
  r.register(
    new Gauge("warren_tasks", "Tasks by state.", () => [
      { labels: { state: "running" }, value: 3 },
    ]),
  );
  const h = r.register(new Histogram("warren_latency_ms", "Latency.", [1, 10]));
  h.observe(0.5, { method: 'a"b' });
  h.observe(5, { method: 'a"b' });
  const text = r.render();
  assert.match(
    text,
    /# TYPE warren_requests_total counter\nwarren_requests_total\{method="List"\} 3/,
  );
  assert.match(text, /warren_tasks\{state="running"\} 3/);
  assert.match(text, /warren_latency_ms_bucket\{method="a\\"b",le="1"\} 1/);
  assert.match(text, /warren_latency_ms_bucket\{method="a\\"b",le="10"\} 2/);
  assert.match(text, /warren_latency_ms_bucket\{method="a\\"b",le="\+Inf"\} 2/);
  assert.match(text, /warren_latency_ms_sum\{method="a\\"b"\} 5.5/);
});

Deno.test("metrics: sources add text sampled at scrape time; a failing one is left out", async () => {
  const r = new Registry();
  r.register(new Gauge("a", "A.", () => [{ value: 1 }]));
  let n = 0;
  const remove = r.addSource(() => Promise.resolve(`# TYPE b gauge\nb ${++n}\n`));
  r.addSource(() => Promise.reject(new Error("runtime gone")));
  assert.equal(await r.renderAll(), "# HELP a A.\n# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n");
  assert.match(await r.renderAll(), /^b 2$/m);
  assert.equal(r.render(), "# HELP a A.\n# TYPE a gauge\na 1\n");
  remove();
  assert.equal(await r.renderAll(), r.render());
});
