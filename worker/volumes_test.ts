import assert from "node:assert/strict";
import { join } from "node:path";
import { FailedPreconditionError, ValidationError } from "../proto/errors.ts";
import { LocalVolumes } from "./volumes.ts";

Deno.test("volumes: created on first use under <dataDir>/volumes, data kept; binds checked; tmpfs passed on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-vol-" });
  try {
    const v = new LocalVolumes(dir);
    const [m] = await v.resolve([{
      type: "volume",
      source: "pgdata",
      target: "/var/lib/pg",
      readOnly: false,
    }]);
    assert.deepEqual(m, {
      source: join(dir, "volumes", "pgdata"),
      destination: "/var/lib/pg",
      readonly: false,
    });
    await Deno.writeTextFile(join(m.source, "row"), "1");
    await v.resolve([{ type: "volume", source: "pgdata", target: "/data", readOnly: true }]);
    assert.equal(await Deno.readTextFile(join(m.source, "row")), "1", "reuse keeps the data");
    const [b] = await v.resolve([{ type: "bind", source: dir, target: "/host", readOnly: true }]);
    assert.deepEqual(b, { source: dir, destination: "/host", readonly: true });
    await assert.rejects(
      v.resolve([{ type: "bind", source: join(dir, "missing"), target: "/x", readOnly: false }]),
      FailedPreconditionError,
    );
    assert.deepEqual(await v.resolve([{ type: "tmpfs", target: "/scratch", readOnly: false }]), [
      { type: "tmpfs", destination: "/scratch", readonly: false },
    ]);
    assert.throws(() => v.path("../etc"), ValidationError);
    assert.deepEqual(await v.list(), ["pgdata"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
