import assert from "node:assert/strict";
import { formatBytes, formatCpus } from "./_units.ts";

Deno.test("formatBytes picks the largest binary unit with up to two decimals", () => {
  assert.equal(formatBytes(2 * 1024 ** 3), "2 GiB");
  assert.equal(formatBytes(1.5 * 1024 ** 3), "1.5 GiB");
  assert.equal(formatBytes(512 * 1024 ** 2), "512 MiB");
  assert.equal(formatBytes(4096), "4 KiB");
  assert.equal(formatBytes(100), "100 B");
  assert.equal(formatBytes(3 * 1024 ** 4), "3 TiB");
});

Deno.test("formatCpus writes CPUs with a singular for exactly one", () => {
  assert.equal(formatCpus(1e9), "1 CPU");
  assert.equal(formatCpus(2e9), "2 CPUs");
  assert.equal(formatCpus(5e8), "0.5 CPUs");
  assert.equal(formatCpus(333_333_333), "0.33 CPUs");
});
