import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import { parseBytes, parseCpu, parseDurationMs, parseIntFlag, parseRatio } from "./_units.ts";

function rejects(fn: () => unknown, flag: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, flag);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("units: durations", () => {
  assert.equal(parseDurationMs("10s", "--f"), 10_000);
  assert.equal(parseDurationMs("500ms", "--f"), 500);
  assert.equal(parseDurationMs("1m30s", "--f"), 90_000);
  assert.equal(parseDurationMs("1.5s", "--f"), 1500);
  assert.equal(parseDurationMs("2h", "--f"), 7_200_000);
  assert.equal(parseDurationMs("1d", "--f"), 86_400_000);
  assert.equal(parseDurationMs("0", "--f"), 0);
  for (const bad of ["10", "", "s", "10x", "1m 30s", "-1s", "10s5"]) {
    rejects(
      () => parseDurationMs(bad, "--health-interval"),
      "--health-interval",
      /duration like 10s/,
    );
  }
});

Deno.test("units: CPU in cores or millicores", () => {
  assert.equal(parseCpu("0.5", "--f"), 500_000_000);
  assert.equal(parseCpu("2", "--f"), 2_000_000_000);
  assert.equal(parseCpu(".25", "--f"), 250_000_000);
  assert.equal(parseCpu("250m", "--f"), 250_000_000);
  for (const bad of ["0", "-1", "abc", "1.5.2", "2c", ""]) {
    rejects(() => parseCpu(bad, "--limit-cpu"), "--limit-cpu", /CPU cores like 0.5/);
  }
});

Deno.test("units: memory in binary multiples", () => {
  const Mi = 1024 * 1024;
  assert.equal(parseBytes("512M", "--f"), 512 * Mi);
  assert.equal(parseBytes("512m", "--f"), 512 * Mi);
  assert.equal(parseBytes("512MiB", "--f"), 512 * Mi);
  assert.equal(parseBytes("512MB", "--f"), 512 * Mi);
  assert.equal(parseBytes("2G", "--f"), 2048 * Mi);
  assert.equal(parseBytes("1.5g", "--f"), 1536 * Mi);
  assert.equal(parseBytes("64k", "--f"), 65536);
  assert.equal(parseBytes("1000", "--f"), 1000);
  assert.equal(parseBytes("1000b", "--f"), 1000);
  for (const bad of ["", "M", "12X", "1iB", "-5M", "5 MB extra"]) {
    rejects(() => parseBytes(bad, "--limit-memory"), "--limit-memory", /like 512M, 2G/);
  }
});

Deno.test("units: integers and ratios with bounds", () => {
  assert.equal(parseIntFlag("3", "--replicas"), 3);
  assert.equal(parseIntFlag("0", "--replicas"), 0);
  rejects(() => parseIntFlag("-1", "--replicas"), "--replicas", /at least 0/);
  rejects(() => parseIntFlag("2.5", "--replicas"), "--replicas", /whole number/);
  rejects(() => parseIntFlag("70000", "--p", { min: 1, max: 65535 }), "--p", /between 1 and 65535/);
  assert.equal(parseRatio("0.2", "--r"), 0.2);
  assert.equal(parseRatio("1", "--r"), 1);
  rejects(() => parseRatio("1.5", "--r"), "--r", /between 0 and 1/);
  rejects(() => parseRatio("x", "--r"), "--r", /between 0 and 1/);
});
