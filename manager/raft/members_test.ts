import assert from "node:assert/strict";
import { Members } from "./members.ts";

/** A transport recording its peers and every call. */
function sink() {
  const peers = new Map<string, string>();
  const calls: string[] = [];
  return {
    peers,
    calls,
    setPeer(id: string, address: string) {
      peers.set(id, address);
      calls.push(`set ${id} ${address}`);
    },
    removePeer(id: string) {
      peers.delete(id);
      calls.push(`remove ${id}`);
    },
  };
}

Deno.test("Members: the list is exactly the configuration; the transport follows", () => {
  const t = sink();
  const m = new Members({ selfId: "a", selfAddress: "a:1", transport: t });
  m.learnSnapshot({ a: "old-a", b: "b:1", c: "c:1", gone: "g:1" });
  m.sync({ voters: ["a", "b", "c"], learners: [] });
  // Self keeps its own address; "gone" is in the map but not in the configuration.
  assert.deepEqual(m.toRecord(), { a: "a:1", b: "b:1", c: "c:1" });
  assert.deepEqual(Object.fromEntries(t.peers), { b: "b:1", c: "c:1" });

  // A snapshot whose configuration no longer has c replaces the list, not merges into it.
  m.learnSnapshot({ a: "a:1", b: "b:2" });
  m.sync({ voters: ["a", "b"], learners: [] });
  assert.deepEqual(m.toRecord(), { a: "a:1", b: "b:2" });
  assert.deepEqual(Object.fromEntries(t.peers), { b: "b:2" });
  assert.equal(m.address("c"), undefined);

  // A learner added by an entry: its address comes with the entry; none known stays "".
  t.calls.length = 0;
  m.learn("d", "d:1");
  m.sync({ voters: ["a", "b"], learners: ["d", "e"] });
  assert.deepEqual(m.toRecord(), { a: "a:1", b: "b:2", d: "d:1", e: "" });
  assert.deepEqual(t.calls, ["set d d:1"], "unchanged peers are not touched");
});

Deno.test("Members: peers known at start stay until the configuration names them", () => {
  const t = sink();
  const m = new Members({
    selfId: "d",
    selfAddress: "d:1",
    transport: t,
    peers: { a: "a:1", d: "d:1" },
  });
  m.sync({ voters: [], learners: [] });
  assert.deepEqual(m.toRecord(), {});
  assert.deepEqual(Object.fromEntries(t.peers), { a: "a:1" }, "never itself");

  // A snapshot older than a's addition: a is still reachable.
  m.learnSnapshot({ b: "b:1" });
  m.sync({ voters: ["b"], learners: [] });
  assert.deepEqual(Object.fromEntries(t.peers), { a: "a:1", b: "b:1" });

  // Named by the configuration (no address in the entry: the known one is kept), then removed.
  m.sync({ voters: ["a", "b"], learners: ["d"] });
  assert.deepEqual(m.toRecord(), { a: "a:1", b: "b:1", d: "d:1" });
  m.sync({ voters: ["b"], learners: ["d"] });
  assert.deepEqual(Object.fromEntries(t.peers), { b: "b:1" }, "a left the configuration");
});
