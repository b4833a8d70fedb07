/**
 * Image platform: an image built only for linux/amd64 never lands on an arm64 node. The
 * platforms come with the work item (the caller reads the image index); none means any.
 * @module
 */
import type { Filter, FilterResult } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";
import { normalizeArch, type TaskRequest } from "../request.ts";

/** Rejects nodes whose OS/architecture the image does not support. */
export const platformFilter: Filter = {
  name: "platform",
  dynamic: false,
  check(info: NodeInfo, task: TaskRequest): FilterResult {
    if (task.platforms.length === 0) return "ok";
    const os = info.node.platform.os;
    const arch = normalizeArch(info.node.platform.arch);
    for (const p of task.platforms) {
      if ((p.os === "*" || p.os === os) && p.arch === arch) return "ok";
    }
    const supported = task.platforms.map((p) => p.os === "*" ? p.arch : `${p.os}/${p.arch}`);
    return { reason: `is ${os}/${arch}; the image supports ${supported.join(", ")}` };
  },
};
