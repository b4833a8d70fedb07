/**
 * Property tests over random clusters: the plan never oversubscribes a node, every placement
 * passes every filter at the moment it was made, no task is left pending while some node could
 * take it, replicas spread evenly when resources allow, and checkPlan keeps concurrently
 * computed plans from oversubscribing nodes.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyPlan,
  countsByNode,
  CPU,
  GiB,
  node,
  oversubscribed,
  replicas,
  request,
  run,
  service,
  snapshot,
} from "./_harness_test_util.ts";
import { checkPlan } from "./check_plan.ts";
import { ClusterView } from "./cluster_view.ts";
import { runFilters } from "./filter.ts";
import { FILTERS } from "./filters/mod.ts";
import type { SchedulerNode, SchedulerService, SchedulerSnapshot, WorkItem } from "./types.ts";

const RUNS = 150;

const nodeArb = fc.record({
  cpus: fc.integer({ min: 0, max: 8 }),
  memGiB: fc.integer({ min: 0, max: 16 }),
  zone: fc.constantFrom("a", "b", "c", undefined),
  role: fc.constantFrom("manager" as const, "worker" as const),
  arch: fc.constantFrom("amd64" as const, "arm64" as const),
  availability: fc.constantFrom(
    "active" as const,
    "active" as const,
    "pause" as const,
    "drain" as const,
  ),
  state: fc.constantFrom("ready" as const, "ready" as const, "ready" as const, "down" as const),
});

const serviceArb = fc.record({
  halfCpus: fc.integer({ min: 0, max: 6 }),
  memGiB: fc.integer({ min: 0, max: 4 }),
  constraints: fc.subarray([
    "node.role==worker",
    "node.labels.zone!=c",
    "node.platform.arch==amd64",
  ]),
  spread: fc.boolean(),
  maxPerNode: fc.integer({ min: 0, max: 3 }),
  hostPort: fc.boolean(),
  replicas: fc.integer({ min: 0, max: 12 }),
  amd64Only: fc.boolean(),
});

type NodeGen = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;
type ServiceGen = typeof serviceArb extends fc.Arbitrary<infer T> ? T : never;

function buildNodes(gens: NodeGen[]): SchedulerNode[] {
  return gens.map((g, i) =>
    node(`n${i}`, {
      nanoCpus: g.cpus * CPU,
      memoryBytes: g.memGiB * GiB,
      labels: g.zone === undefined ? {} : { zone: g.zone },
      role: g.role,
      arch: g.arch,
      availability: g.availability,
      state: g.state,
    })
  );
}

function buildServices(gens: ServiceGen[]): SchedulerService[] {
  return gens.map((g, i) =>
    service(`s${i}`, {
      ...(g.halfCpus ? { nanoCpus: (g.halfCpus * CPU) / 2 } : {}),
      ...(g.memGiB ? { memoryBytes: g.memGiB * GiB } : {}),
      constraints: g.constraints,
      spread: g.spread ? ["zone"] : [],
      maxReplicasPerNode: g.maxPerNode,
      hostPorts: g.hostPort ? [8080] : [],
    })
  );
}

function buildWork(gens: ServiceGen[], round: number): WorkItem[] {
  return gens.flatMap((g, i) =>
    replicas(`s${i}`, g.replicas, {
      firstSlot: round * 100 + 1,
      ...(g.amd64Only ? { imagePlatforms: ["linux/amd64"] } : {}),
    })
  );
}

const clusterArb = fc.record({
  nodes: fc.array(nodeArb, { minLength: 0, maxLength: 10 }),
  services: fc.array(serviceArb, { minLength: 1, maxLength: 4 }),
  seed: fc.nat(),
  strategy: fc.constantFrom("spread" as const, "binpack" as const),
});

type ClusterGen = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

/** A cluster with a first round of tasks already placed (a valid, not oversubscribed state). */
function seeded(c: ClusterGen) {
  const services = buildServices(c.services);
  const empty = snapshot({ nodes: buildNodes(c.nodes), services });
  const first = run(empty, buildWork(c.services, 0), { seed: c.seed, strategy: c.strategy });
  return applyPlan(empty, first);
}

Deno.test("property: placements never oversubscribe and each passed every filter", () => {
  fc.assert(
    fc.property(clusterArb, (c) => {
      const snap = seeded(c);
      assert.deepEqual(oversubscribed(snap), []);
      const work = buildWork(c.services, 1);
      const plan = run(snap, work, { seed: c.seed + 1, strategy: c.strategy });
      assert.deepEqual(oversubscribed(applyPlan(snap, plan)), []);
      assert.equal(plan.place.length + plan.pending.length, work.length);

      // Replay: at the moment of each placement, the chosen node passed every filter.
      const byTask = new Map(work.map((w) => [w.taskId, w]));
      const view = new ClusterView(snap);
      for (const p of plan.place) {
        const w = byTask.get(p.taskId)!;
        const req = request(snap.services.get(p.serviceId)!, w.imagePlatforms?.slice());
        const info = view.byId.get(p.nodeId)!;
        assert.equal(runFilters(FILTERS, info, req, view), "ok", `${p.taskId} on ${p.nodeId}`);
        view.place(info, req);
      }
      // Completeness: no pending task fits anywhere once the plan is in.
      for (const pending of plan.pending) {
        const w = byTask.get(pending.taskId)!;
        const req = request(snap.services.get(w.serviceId)!, w.imagePlatforms?.slice());
        for (const info of view.infos) {
          assert.notEqual(
            runFilters(FILTERS, info, req, view),
            "ok",
            `${w.taskId} fits ${info.node.id}`,
          );
        }
      }
    }),
    { numRuns: RUNS },
  );
});

Deno.test("property: the same seed gives the same plan", () => {
  fc.assert(
    fc.property(clusterArb, (c) => {
      const snap = seeded(c);
      const work = buildWork(c.services, 1);
      const o = { seed: c.seed, strategy: c.strategy };
      assert.deepEqual(run(snap, work, o), run(snap, work, o));
    }),
    { numRuns: 50 },
  );
});

Deno.test("property: replicas spread evenly over nodes, and over zones first, when resources allow", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 80 }),
      fc.boolean(),
      fc.nat(),
      (existingOther, zones, count, byZone, seed) => {
        const web = service("web", byZone ? { spread: ["zone"] } : {});
        const other = service("other");
        const ns = zones.map((z, i) => node(`n${i}`, { labels: { zone: z } }));
        // Unrelated load must not unbalance the service's own spread.
        const base = applyPlan(
          snapshot({ nodes: ns, services: [web, other] }),
          run(snapshot({ nodes: ns, services: [web, other] }), replicas("other", existingOther), {
            seed,
          }),
        );
        const after = applyPlan(base, run(base, replicas("web", count), { seed: seed + 1 }));
        const counts = ns.map((n) => countsByNode(after, "web").get(n.id) ?? 0);
        assert.equal(counts.reduce((a, b) => a + b, 0), count);
        if (!byZone) {
          assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `uneven: ${counts}`);
          return;
        }
        const perZone = new Map<string, number>();
        zones.forEach((_, i) => perZone.set(zones[i]!, (perZone.get(zones[i]!) ?? 0) + counts[i]!));
        const z = [...perZone.values()];
        assert.ok(Math.max(...z) - Math.min(...z) <= 1, `zones uneven: ${[...perZone]}`);
        for (const zone of perZone.keys()) {
          const inZone = counts.filter((_, i) => zones[i] === zone);
          assert.ok(Math.max(...inZone) - Math.min(...inZone) <= 1, `uneven in ${zone}: ${inZone}`);
        }
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("property: checkPlan never lets stale concurrent plans oversubscribe", () => {
  fc.assert(
    fc.property(
      clusterArb,
      fc.integer({ min: 2, max: 4 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      (c, planCount, drainIdx) => {
        const stale = seeded(c);
        // Several schedulers plan from the same (soon stale) snapshot.
        const plans = Array.from(
          { length: planCount },
          (_, k) =>
            run(stale, buildWork(c.services, k + 1), { seed: c.seed + k, strategy: c.strategy }),
        );
        // Meanwhile the operator drains some nodes.
        const drained = new Set(
          drainIdx.map((i) => stale.nodes[i % Math.max(1, stale.nodes.length)]?.id),
        );
        let latest: SchedulerSnapshot = {
          ...stale,
          nodes: stale.nodes.map((n) =>
            drained.has(n.id) ? { ...n, availability: "drain" as const } : n
          ),
        };
        for (const plan of plans) {
          const checked = checkPlan(plan, latest);
          assert.equal(checked.plan.place.length + checked.rejected.length, plan.place.length);
          for (const p of checked.plan.place) {
            assert.ok(!drained.has(p.nodeId), `placed on drained ${p.nodeId}`);
          }
          latest = applyPlan(latest, checked.plan);
          assert.deepEqual(oversubscribed(latest), []);
        }
      },
    ),
    { numRuns: RUNS },
  );
});
