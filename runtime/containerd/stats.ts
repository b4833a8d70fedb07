/**
 * Container resource usage from Tasks/Metrics. containerd answers with an Any holding the cgroup
 * statistics of the host's cgroup version: `io.containerd.cgroups.v1.Metrics` on a cgroup v1 host
 * (like the machines Warren is developed on) or `io.containerd.cgroups.v2.Metrics` on a v2 one.
 *
 * Only the few fields Warren reports are read, by field number, as 64-bit integers: the generated
 * decoders refuse values above 2^53, and an unlimited cgroup reports its limit as ~2^63.
 */
import { WarrenError } from "../../proto/errors.ts";
import type { ContainerStats } from "../runtime.ts";
import type { ContainerdClient } from "./client.ts";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** Type URL of cgroup v1 metrics. */
export const CGROUPS_V1_METRICS = "io.containerd.cgroups.v1.Metrics";
/** Type URL of cgroup v2 metrics. */
export const CGROUPS_V2_METRICS = "io.containerd.cgroups.v2.Metrics";

// "No limit" is reported as the largest page-aligned int64 (v1) or max uint64 (v2).
const UNLIMITED_BYTES = 2 ** 62;

/** Field paths (protobuf field numbers) in the two metrics messages. */
const V1 = { cpuNs: [3, 1, 1], memory: [4, 33, 2], limit: [4, 33, 1], pids: [2, 1] };
const V2 = { cpuUsec: [2, 1], memory: [4, 32], limit: [4, 33], pids: [1, 1] };

/** Reads the varint at a path of nested message fields; undefined when absent. */
export function readUint64At(bytes: Uint8Array, path: readonly number[]): number | undefined {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no !== path[0]) {
      r.skip(wireType);
      continue;
    }
    if (path.length === 1) return Number(r.uint64());
    return readUint64At(r.bytes(), path.slice(1));
  }
  return undefined;
}

function limitOrUndefined(limit: number | undefined): number | undefined {
  return limit === undefined || limit <= 0 || limit >= UNLIMITED_BYTES ? undefined : limit;
}

/** Converts a metrics Any into {@link ContainerStats}. @throws WarrenError for other types. */
export function decodeMetrics(
  data: { typeUrl: string; value: Uint8Array },
  at: Date,
): ContainerStats {
  const type = data.typeUrl.replace(/^.*\//, "");
  const v = data.value;
  if (type === CGROUPS_V1_METRICS || type === CGROUPS_V2_METRICS) {
    const v1 = type === CGROUPS_V1_METRICS;
    const limit = limitOrUndefined(readUint64At(v, v1 ? V1.limit : V2.limit));
    const pids = readUint64At(v, v1 ? V1.pids : V2.pids);
    return {
      cpuUsageNs: v1 ? readUint64At(v, V1.cpuNs) ?? 0 : (readUint64At(v, V2.cpuUsec) ?? 0) * 1000,
      memoryBytes: readUint64At(v, v1 ? V1.memory : V2.memory) ?? 0,
      ...(limit !== undefined ? { memoryLimitBytes: limit } : {}),
      ...(pids !== undefined ? { pids } : {}),
      at,
    };
  }
  throw new WarrenError("internal", `containerd returned metrics of unknown type ${data.typeUrl}`);
}

/** Reads the metrics of container `id`'s task. @throws NotFound (ContainerdError) without task. */
export async function taskStats(client: ContainerdClient, id: string): Promise<ContainerStats> {
  const res = await client.tasks.metrics({ filters: [`id==${id}`] });
  const metric = res.metrics.find((m) => m.id === id);
  if (!metric?.data) {
    throw new WarrenError("not_found", `no metrics for container "${id}"`);
  }
  return decodeMetrics(metric.data, metric.timestamp ?? new Date());
}
