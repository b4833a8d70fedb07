import assert from "node:assert/strict";
import { formatAgo, formatBytes, formatCpu, formatDurationMs } from "./human.ts";

Deno.test("human: bytes in binary units", () => {
  assert.equal(formatBytes(0), "0B");
  assert.equal(formatBytes(1023), "1023B");
  assert.equal(formatBytes(1536), "1.5KiB");
  assert.equal(formatBytes(512 * 1024 * 1024), "512MiB");
  assert.equal(formatBytes(2 * 1024 ** 3), "2GiB");
});

Deno.test("human: CPU in cores and Go-like durations", () => {
  assert.equal(formatCpu(500_000_000), "0.5");
  assert.equal(formatCpu(2_000_000_000), "2");
  assert.equal(formatCpu(1_250_000_000), "1.25");
  assert.equal(formatDurationMs(0), "0s");
  assert.equal(formatDurationMs(500), "500ms");
  assert.equal(formatDurationMs(10_000), "10s");
  assert.equal(formatDurationMs(90_000), "1m30s");
  assert.equal(formatDurationMs(3_600_000 + 1500), "1h1.5s");
});

Deno.test("human: relative times", () => {
  const now = 1_000_000_000_000;
  assert.equal(formatAgo(now, now), "Less than a second ago");
  assert.equal(formatAgo(now - 1000, now), "1 second ago");
  assert.equal(formatAgo(now - 5 * 60_000, now), "5 minutes ago");
  assert.equal(formatAgo(now - 3 * 3_600_000, now), "3 hours ago");
  assert.equal(formatAgo(now - 2 * 86_400_000, now), "2 days ago");
  assert.equal(formatAgo(now - 21 * 86_400_000, now), "3 weeks ago");
});
