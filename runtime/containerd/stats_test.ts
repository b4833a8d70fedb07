import assert from "node:assert/strict";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Metrics as V1Metrics } from "./gen/github.com/containerd/cgroups/stats/v1/metrics.ts";
import { Metrics as V2Metrics } from "./gen/github.com/containerd/cgroups/v2/stats/metrics.ts";
import { CGROUPS_V1_METRICS, CGROUPS_V2_METRICS, decodeMetrics } from "./stats.ts";

const at = new Date(0);

Deno.test("stats: cgroup v1 metrics decode to usage, limit and pids", () => {
  const value = V1Metrics.encode(V1Metrics.fromPartial({
    cpu: { usage: { total: 123_456, kernel: 1, user: 2, perCpu: [] } },
    memory: { usage: { usage: 5 * 1024 * 1024, limit: 64 * 1024 * 1024, max: 0, failcnt: 0 } },
    pids: { current: 3, limit: 0 },
  })).finish();
  assert.deepEqual(decodeMetrics({ typeUrl: CGROUPS_V1_METRICS, value }, at), {
    cpuUsageNs: 123_456,
    memoryBytes: 5 * 1024 * 1024,
    memoryLimitBytes: 64 * 1024 * 1024,
    pids: 3,
    at,
  });
});

Deno.test("stats: an unlimited v1 cgroup reports no limit", () => {
  // memory (4) { usage (33) { limit (1): 2^63 - 4096, usage (2): 1 } }, encoded by hand: the
  // generated encoder cannot write integers above 2^53.
  const entry = new BinaryWriter().uint32(8).uint64(9223372036854771712n).uint32(16).uint64(1)
    .finish();
  const memory = new BinaryWriter().uint32(266).bytes(entry).finish();
  const value = new BinaryWriter().uint32(34).bytes(memory).finish();
  const s = decodeMetrics({ typeUrl: CGROUPS_V1_METRICS, value }, at);
  assert.equal(s.memoryLimitBytes, undefined);
  assert.equal(s.memoryBytes, 1);
});

Deno.test("stats: cgroup v2 metrics convert microseconds to nanoseconds", () => {
  const value = V2Metrics.encode(V2Metrics.fromPartial({
    cpu: { usageUsec: 42 },
    memory: { usage: 4096, usageLimit: 8192 },
  })).finish();
  assert.deepEqual(decodeMetrics({ typeUrl: CGROUPS_V2_METRICS, value }, at), {
    cpuUsageNs: 42_000,
    memoryBytes: 4096,
    memoryLimitBytes: 8192,
    at,
  });
});

Deno.test("stats: unknown metric types are an error", () => {
  assert.throws(
    () => decodeMetrics({ typeUrl: "x.Other", value: new Uint8Array() }, at),
    /unknown type x.Other/,
  );
});
