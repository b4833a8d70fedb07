import assert from "node:assert/strict";
import { parseApplyFile } from "./_apply_plan.ts";

Deno.test("examples: the stack in examples/ parses as an apply file", async () => {
  const text = await Deno.readTextFile(new URL("../../examples/stack.yaml", import.meta.url));
  const docs = parseApplyFile(text);
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.name}`), [
    "Secret/db-pass",
    "Volume/db-data",
    "Service/db",
    "Service/web",
  ]);
});
