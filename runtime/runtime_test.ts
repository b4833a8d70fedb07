import assert from "node:assert/strict";
import { ValidationError } from "../proto/errors.ts";
import { parseOrThrow, ServiceSpecSchema } from "../proto/schema/mod.ts";
import { signalNumber } from "./runtime.ts";

/** Whether a spec with this stop signal validates. */
function specAccepts(stopSignal: string): boolean {
  try {
    parseOrThrow(ServiceSpecSchema, { name: "web", image: "registry.local/web:1", stopSignal });
    return true;
  } catch (err) {
    if (err instanceof ValidationError && err.field === "stopSignal") return false;
    throw err;
  }
}

/** Whether the runtime can send this signal. */
function runtimeAccepts(signal: string): boolean {
  try {
    signalNumber(signal, "stopSignal");
    return true;
  } catch (err) {
    if (err instanceof ValidationError) return false;
    throw err;
  }
}

Deno.test("signalNumber: a stop signal validates in a spec exactly when the runtime can send it", () => {
  const names = [
    "SIGTERM",
    "SIGQUIT",
    "SIGWINCH",
    "SIGBUS",
    "SIGRTMIN+3",
    "SIGRTMAX",
    "SIGFOO",
    "SIGBOGUS",
    "SIGRTMIN+16",
  ];
  const numbers = Array.from({ length: 100 }, (_, i) => String(i));
  for (const s of [...names, ...numbers]) {
    assert.equal(specAccepts(s), runtimeAccepts(s), s);
  }
  assert.equal(signalNumber("SIGRTMIN+3"), 37);
  assert.equal(signalNumber("term"), 15);
  assert.throws(() => signalNumber(99), /99 is not a signal number \(1-64\)/);
  assert.throws(() => signalNumber("SIGFOO"), /unknown signal "SIGFOO"/);
});
