import assert from "node:assert/strict";
import { join } from "node:path";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { certCommand } from "./cert.ts";

Deno.test("cert create: refuses to overwrite a certificate or key of that name without --force", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-cert-" });
  try {
    for (const file of ["ops.pem", "ops-key.pem"]) {
      await Deno.writeTextFile(join(dir, file), "kept\n");
      await assert.rejects(
        certCommand().parseAsync(["create", "ops", "--out-dir", dir], { from: "user" }),
        (e) =>
          e instanceof FailedPreconditionError &&
          e.message ===
            `${
              join(dir, file)
            } exists: choose another name or --out-dir, or pass --force to replace it`,
      );
      assert.equal(await Deno.readTextFile(join(dir, file)), "kept\n");
      await Deno.remove(join(dir, file));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
