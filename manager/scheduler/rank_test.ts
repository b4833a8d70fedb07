import assert from "node:assert/strict";
import fc from "fast-check";
import { xoshiro128 } from "../raft/core/prng.ts";
import {
  applyPlan,
  countsByNode,
  CPU,
  GiB,
  node,
  nodes,
  replicas,
  run,
  service,
  snapshot,
  task,
} from "./_harness_test_util.ts";
import { ClusterView } from "./cluster_view.ts";
import type { NodeInfo } from "./node_info.ts";
import { PlacementTree, type RankOptions } from "./rank.ts";
import { PlacementScan } from "./rank_scan.ts";

Deno.test("spread: replicas of one service go to distinct nodes, evenly", () => {
  const web = service("web");
  const snap = snapshot({ nodes: nodes(3), services: [web] });
  const after = applyPlan(snap, run(snap, replicas("web", 9)));
  assert.deepEqual([...countsByNode(after, "web").values()], [3, 3, 3]);
});

Deno.test("spread: fewest tasks of the service first, then fewest tasks overall", () => {
  const web = service("web");
  const db = service("db");
  const snap = snapshot({
    nodes: nodes(3),
    services: [web, db],
    // n1 runs web, n2 runs two db tasks, n3 one db task.
    tasks: [
      task("w1", web, "n1"),
      task("d1", db, "n2"),
      task("d2", db, "n2"),
      task("d3", db, "n3"),
    ],
  });
  const plan = run(snap, replicas("web", 2, { firstSlot: 2 }));
  assert.deepEqual(plan.place.map((p) => p.nodeId), ["n3", "n2"]);
});

Deno.test("binpack: fills the most reserved node that fits first", () => {
  const app = service("app", { nanoCpus: CPU, memoryBytes: GiB });
  const snap = snapshot({
    nodes: nodes(3, { nanoCpus: 4 * CPU, memoryBytes: 4 * GiB }),
    services: [app],
    tasks: [task("x", app, "n2")],
  });
  const plan = run(snap, replicas("app", 4), { strategy: "binpack" });
  // n2 has room for three more, then the next node fills up.
  const nodesChosen = plan.place.map((p) => p.nodeId);
  assert.deepEqual(nodesChosen.slice(0, 3), ["n2", "n2", "n2"]);
  assert.notEqual(nodesChosen[3], "n2");
  assert.equal(plan.pending.length, 0);
});

Deno.test("spread preference: balance across zones first, then within a zone", () => {
  const web = service("web", { spread: ["zone"] });
  // Zone a has one node, zone b three: zones get equal shares regardless of size.
  const ns = [
    node("a1", { labels: { zone: "a" } }),
    node("b1", { labels: { zone: "b" } }),
    node("b2", { labels: { zone: "b" } }),
    node("b3", { labels: { zone: "b" } }),
  ];
  const snap = snapshot({ nodes: ns, services: [web] });
  const after = applyPlan(snap, run(snap, replicas("web", 6)));
  const counts = countsByNode(after, "web");
  assert.equal(counts.get("a1"), 3);
  assert.deepEqual([counts.get("b1"), counts.get("b2"), counts.get("b3")], [1, 1, 1]);
});

Deno.test("spread preference: existing tasks count, nodes without the label form a group", () => {
  const web = service("web", { spread: ["zone"] });
  const ns = [
    node("a1", { labels: { zone: "a" } }),
    node("b1", { labels: { zone: "b" } }),
    node("x1"),
  ];
  const snap = snapshot({
    nodes: ns,
    services: [web],
    tasks: [task("t1", web, "a1"), task("t2", web, "a1")],
  });
  const after = applyPlan(snap, run(snap, replicas("web", 4, { firstSlot: 3 })));
  const c = countsByNode(after, "web");
  assert.deepEqual([c.get("a1"), c.get("b1"), c.get("x1")], [2, 2, 2]);
});

Deno.test("nested preferences: zone, then rack within the zone", () => {
  const web = service("web", { spread: ["zone", "rack"] });
  const ns = [
    node("a-r1", { labels: { zone: "a", rack: "1" } }),
    node("a-r1b", { labels: { zone: "a", rack: "1" } }),
    node("a-r2", { labels: { zone: "a", rack: "2" } }),
    node("b-r3", { labels: { zone: "b", rack: "3" } }),
  ];
  const snap = snapshot({ nodes: ns, services: [web] });
  const c = countsByNode(applyPlan(snap, run(snap, replicas("web", 4))), "web");
  // 2 per zone; zone a splits 1 per rack, so one of a-r1/a-r1b stays empty.
  assert.equal(c.get("b-r3"), 2);
  assert.equal(c.get("a-r2"), 1);
  assert.equal((c.get("a-r1") ?? 0) + (c.get("a-r1b") ?? 0), 1);
});

Deno.test("ties are broken by the seed: fair over seeds, identical for one seed", () => {
  const web = service("web");
  const snap = snapshot({ nodes: nodes(4), services: [web] });
  const firsts = new Map<string, number>();
  for (let seed = 0; seed < 200; seed++) {
    const nodeId = run(snap, replicas("web", 1), { seed }).place[0]!.nodeId;
    firsts.set(nodeId, (firsts.get(nodeId) ?? 0) + 1);
  }
  assert.equal(firsts.size, 4);
  for (const n of firsts.values()) assert.ok(n > 20, `unfair: ${[...firsts]}`);
  assert.deepEqual(
    run(snap, replicas("web", 3), { seed: 7 }),
    run(snap, replicas("web", 3), { seed: 7 }),
  );
});

Deno.test("PlacementScan hands out exactly the nodes PlacementTree does", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ cpus: fc.integer({ min: 0, max: 4 }), existing: fc.nat(3) }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.integer({ min: 1, max: 10 }),
      fc.constantFrom("spread" as const, "binpack" as const),
      fc.nat(),
      (specs, tasks, strategy, seed) => {
        const app = service("app", { nanoCpus: CPU });
        const other = service("other", { nanoCpus: CPU / 2 });
        const ns = specs.map((s, i) => node(`n${i}`, { nanoCpus: s.cpus * CPU }));
        const existing = specs.flatMap((s, i) =>
          Array.from({ length: s.existing }, (_, k) => task(`o${i}.${k}`, other, `n${i}`))
        );
        const snap = snapshot({ nodes: ns, services: [app, other], tasks: existing });
        const pick = (make: (n: NodeInfo[], o: RankOptions) => PlacementTree | PlacementScan) => {
          const view = new ClusterView(snap);
          const ranker = make([...view.infos], {
            serviceCounts: view.serviceCounts("app"),
            spreadLabels: [],
            strategy,
            rand: xoshiro128(seed),
          });
          const fits = (n: NodeInfo) => n.freeNanoCpus >= CPU;
          const place = (n: NodeInfo) =>
            n.add({
              serviceId: "app",
              reservations: { nanoCpus: CPU, memoryBytes: 0 },
              hostPorts: [],
            });
          return Array.from({ length: tasks }, () => ranker.next(fits, place)?.node.id);
        };
        assert.deepEqual(
          pick((n, o) => new PlacementScan(n, o)),
          pick((n, o) => new PlacementTree(n, o)),
        );
      },
    ),
  );
});
