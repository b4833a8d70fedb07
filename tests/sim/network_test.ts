import assert from "node:assert/strict";
import type { Message, MsgApp } from "../../manager/raft/core/messages.ts";
import { Network } from "./network.ts";
import { SimRng } from "./rng.ts";

const app = (from: string, to: string, commit = 1): MsgApp => ({
  type: "MsgApp",
  from,
  to,
  term: 2,
  index: 1,
  logTerm: 1,
  commit,
  entries: [{ index: 2, term: 2, type: "normal", data: new Uint8Array([1]) }],
});

function drain(net: Network, until: number): Message[] {
  const out: Message[] = [];
  for (let t = 0; t <= until; t++) for (const e of net.deliverable(t)) out.push(Network.decode(e));
  return out;
}

Deno.test("network: delivers within the delay bound, as fresh copies, via the codec or not", () => {
  for (const codecShare of [0, 1]) {
    const net = new Network(new SimRng(1), {
      codecShare,
      maxDelaySteps: 3,
      dropRate: 0,
      duplicateRate: 0,
    });
    const m = app("a", "b");
    net.sendRaft(0, m);
    assert.deepEqual(net.deliverable(0), []);
    const got = drain(net, 3);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], m);
    assert.notEqual(got[0], m);
    assert.notEqual((got[0] as MsgApp).entries[0], m.entries[0]);
  }
});

Deno.test("network: drops, duplicates and reorders", () => {
  const net = new Network(new SimRng(2), {
    codecShare: 0,
    maxDelaySteps: 5,
    dropRate: 0.2,
    duplicateRate: 0.2,
  });
  for (let i = 0; i < 200; i++) net.sendRaft(0, app("a", "b", i));
  const got = drain(net, 6).map((m) => (m as MsgApp).commit);
  assert.ok(net.stats.dropped > 10 && net.stats.duplicated > 10);
  assert.equal(got.length, 200 - net.stats.dropped + net.stats.duplicated);
  assert.notDeepEqual(got, [...got].sort((x, y) => x - y));
});

Deno.test("network: partitions cut links at delivery time, one-way or both ways, until healed", () => {
  const net = new Network(new SimRng(3), {
    codecShare: 0,
    maxDelaySteps: 1,
    dropRate: 0,
    duplicateRate: 0,
  });
  net.cut("a", "b");
  assert.ok(net.isCut("a", "b") && !net.isCut("b", "a"));
  net.sendRaft(0, app("a", "b"));
  net.sendRaft(0, app("b", "a"));
  assert.deepEqual(drain(net, 1).map((m) => m.from), ["b"]);
  net.split(["a"], ["b", "c"]);
  assert.ok(net.isCut("c", "a") && net.partitioned);
  net.sendRaft(1, app("a", "b"));
  net.heal();
  assert.equal(drain(net, 2).length, 1, "a message in flight crosses once the partition heals");
});
