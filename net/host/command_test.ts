import assert from "node:assert/strict";
import { runCommand } from "./command.ts";

Deno.test("runCommand: a program that exits without reading its stdin is not an error", async () => {
  for (let i = 0; i < 5; i++) {
    const r = await runCommand(["true"], { stdin: "x".repeat(1 << 20) });
    assert.equal(r.code, 0);
  }
});
