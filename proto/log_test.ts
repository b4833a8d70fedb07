import assert from "node:assert/strict";
import { configureLogging, logger } from "./log.ts";

Deno.test("log: json lines carry level, component and fields; lower levels are dropped", () => {
  const lines: string[] = [];
  configureLogging({ level: "info", format: "json", sink: (l) => lines.push(l) });
  try {
    const log = logger("raft").with({ node: "m1" });
    log.debug("hidden");
    log.info("became leader", { term: 3 });
    log.error("disk failed", { err: new Error("EIO") });
    assert.equal(lines.length, 2);
    const a = JSON.parse(lines[0]);
    assert.equal(a.level, "info");
    assert.equal(a.component, "raft");
    assert.equal(a.node, "m1");
    assert.equal(a.term, 3);
    assert.equal(JSON.parse(lines[1]).err, "EIO");
    configureLogging({ format: "text" });
    log.warn("slow", { ms: 12 });
    assert.match(lines[2], /WARN {2}\[raft\] slow node=m1 ms=12$/);
  } finally {
    configureLogging({ level: "info", format: "text", sink: (l) => console.error(l) });
  }
});
