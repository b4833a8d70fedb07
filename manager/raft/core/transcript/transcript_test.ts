/**
 * Runs every manager/raft/core/testdata/*.txt transcript and compares the output. With REWRITE=1
 * the files are rewritten with the actual output instead: review every change by hand.
 */
import assert from "node:assert/strict";
import { parseTranscript, renderTranscript } from "./parse.ts";
import { runTranscript } from "./run.ts";

const dir = new URL("../testdata/", import.meta.url);
const rewrite = Deno.env.get("REWRITE") === "1";
const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".txt")).map((
  e,
) => e.name).sort();

for (const name of files) {
  Deno.test(`raft transcript ${name}`, () => {
    const url = new URL(name, dir);
    const text = Deno.readTextFileSync(url);
    const { cases, trailer } = parseTranscript(text, name);
    assert.ok(
      cases[0]?.comments.some((c) => /§\d/.test(c)),
      `${name} must start with the Raft section it checks`,
    );
    const outputs = runTranscript(cases, name);
    if (rewrite) {
      Deno.writeTextFileSync(url, renderTranscript(cases, outputs, trailer));
      return;
    }
    cases.forEach((c, i) => {
      assert.equal(outputs[i], c.expected, `${name}:${c.lineNo}: ${c.line}`);
    });
  });
}
