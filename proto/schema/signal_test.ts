import assert from "node:assert/strict";
import { assertInvalid } from "./_test_util.ts";
import { parseOrThrow } from "./parse.ts";
import { MAX_SIGNAL, signalNumberOf, SIGNALS, StopSignalSchema } from "./signal.ts";

Deno.test("signals: the table has Linux's numbers, real-time ones as Docker names them", () => {
  assert.equal(SIGNALS.TERM, 15);
  assert.equal(SIGNALS.KILL, 9);
  assert.equal(SIGNALS.WINCH, 28);
  assert.equal(SIGNALS.RTMIN, 34);
  assert.equal(SIGNALS["RTMIN+3"], 37);
  assert.equal(SIGNALS["RTMAX-1"], 63);
  assert.equal(SIGNALS.RTMAX, MAX_SIGNAL);
  for (const n of Object.values(SIGNALS)) assert.ok(n >= 1 && n <= MAX_SIGNAL);
  assert.equal(signalNumberOf("sigquit"), 3);
  assert.equal(signalNumberOf(" TERM "), 15);
  assert.equal(signalNumberOf("64"), 64);
  for (const bad of ["SIGFOO", "SIGBOGUS", "65", "0", 99, 0, 1.5, "toString", "SIGconstructor"]) {
    assert.equal(signalNumberOf(bad), undefined, String(bad));
  }
});

Deno.test("signals: a spec's stop signal is SIG and a known name, or a number 1-64", () => {
  for (const name of Object.keys(SIGNALS)) {
    assert.equal(parseOrThrow(StopSignalSchema, `SIG${name}`), `SIG${name}`);
  }
  for (let n = 1; n <= MAX_SIGNAL; n++) parseOrThrow(StopSignalSchema, String(n));
  for (const bad of ["SIGFOO", "SIGBOGUS", "99", "65", "0", "TERM", "sigterm", "SIGRTMIN+16", ""]) {
    const reason = /is not a signal: use a signal name like SIGTERM/;
    assertInvalid(StopSignalSchema, bad, "stopSignal", reason, "stopSignal");
  }
});
