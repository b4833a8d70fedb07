/**
 * The daemon's side of feature levels: a manager process whose binary is below the level of the
 * cluster in its data directory (a downgrade) stops at once, exit code 1, with an error naming
 * both levels, instead of running on a log it would misread. The cluster is made by an
 * in-process manager that plays a newer binary (its feature level injected).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Manager } from "../../manager/manager.ts";
import { BINARY_FEATURE_LEVEL } from "../../manager/state/fsm_feature_level.ts";
import { cli } from "./_cluster_procs.ts";
import { configureLogging } from "../../proto/log.ts";

configureLogging({ level: "error" });

Deno.test("feature level: a manager daemon on a cluster above its binary's level exits naming both levels", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-level-proc-" });
  const dataDir = join(dir, "m1");
  const newer = BINARY_FEATURE_LEVEL + 1;
  try {
    const mgr = await Manager.start({
      dataDir,
      apiAddr: "127.0.0.1:0",
      raftAddr: "127.0.0.1:0",
      httpAddr: "127.0.0.1:0",
      advertiseAddr: "127.0.0.1",
      init: { clusterName: "newer" },
      featureLevel: newer,
    });
    try {
      await mgr.waitForLeader();
      assert.equal(mgr.store.state.cluster?.featureLevel, newer);
    } finally {
      await mgr.stop();
    }
    const out = await cli({ WARREN_CONFIG: join(dir, "config.json"), NO_COLOR: "1" }, [
      "cluster",
      "init",
      "--manager-only",
      "--data-dir",
      dataDir,
      "--api-addr",
      "127.0.0.1:0",
      "--raft-addr",
      "127.0.0.1:0",
      "--http-addr",
      "127.0.0.1:0",
      "--advertise-addr",
      "127.0.0.1",
    ]);
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(
      out.stderr,
      new RegExp(
        `^error: this manager's Warren binary supports feature level ${BINARY_FEATURE_LEVEL}, ` +
          `but the cluster is at feature level ${newer}`,
        "m",
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
