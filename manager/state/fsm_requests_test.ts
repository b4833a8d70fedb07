import assert from "node:assert/strict";
import fc from "fast-check";
import { applyCommand } from "./fsm.ts";
import { type ClusterState, emptyState, fromSnapshot, toSnapshot } from "./fsm_state.ts";
import { encodeCommand } from "./commands.ts";
import type { Command } from "./commands.ts";
import {
  failed,
  MAX_REMEMBERED_REQUESTS,
  replayRequest,
  type RequestOutcome,
} from "./fsm_requests.ts";
import { node, service } from "./_fixtures_test_util.ts";
import { REQUEST_FINGERPRINT_LEVEL } from "./fsm_feature_level.ts";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  RequestIdReusedError,
  ValidationError,
} from "../../proto/errors.ts";
import { serviceRevision } from "../../proto/schema/mod.ts";

const at = 5000;
const R1 = "req-0000000000000001";
const R2 = "req-0000000000000002";
/** Two request fingerprints (manager/api/request_fingerprint.ts), as commands carry them. */
const FP_A = "AAAAAAAAAAAAAAAAAAAAAA";
const FP_B = "BBBBBBBBBBBBBBBBBBBBBB";

/** A state's snapshot as JSON (what managers compare and persist). */
const snap = (s: ClusterState) => JSON.stringify(toSnapshot(s));

/** Through JSON, as a snapshot is written and read. */
const restored = (s: ClusterState) => fromSnapshot(JSON.parse(snap(s)));

Deno.test("fsm requests: a repeated create is not applied again and answers with the service", () => {
  const s = emptyState();
  const cmd: Command = { kind: "service.create", at, requestId: R1, service: service("web") };
  const first = applyCommand(s, cmd);
  assert.equal(first.changes.length, 1);
  const before = snap(s);
  // The retry, as a second manager would propose it: a new object ID, a later time.
  const again = applyCommand(s, {
    ...cmd,
    at: at + 1,
    service: service("other-id", { name: "web" }),
  });
  assert.deepEqual(again.result, first.result, "the first create's service, not ALREADY_EXISTS");
  assert.deepEqual(again.changes, [], "no events: nothing changed");
  assert.equal(snap(s), before, "the state is as after the first create");
  // Without an ID the same create is refused, as before.
  assert.throws(
    () => applyCommand(s, { kind: "service.create", at, service: service("x", { name: "web" }) }),
    AlreadyExistsError,
  );
});

Deno.test("fsm requests: a repeated update or scale bumps the version and revision once", () => {
  const s = emptyState();
  applyCommand(s, { kind: "service.create", at, service: service("web") });
  const v2 = service("web", { image: "registry.local/app:2" }).spec;
  const update: Command = { kind: "service.update", at, requestId: R1, id: "web", spec: v2 };
  applyCommand(s, update);
  const scale: Command = { kind: "service.scale", at, requestId: R2, id: "web", replicas: 4 };
  applyCommand(s, scale);
  const after = s.services.get("web")!;
  assert.equal(after.specVersion, 2);
  assert.equal(serviceRevision(after), 3);
  // Both repeated, in any order: the answer is the service as it is now, nothing changes.
  assert.equal(applyCommand(s, scale).result, after);
  assert.equal(applyCommand(s, update).result, after);
  assert.equal(s.services.get("web"), after);
});

Deno.test("fsm requests: a repeat of a refused write is refused alike, even once it could apply", () => {
  const s = emptyState();
  applyCommand(s, { kind: "service.create", at, service: service("a", { name: "web" }) });
  const cmd: Command = { kind: "service.create", at, requestId: R1, service: service("web") };
  assert.throws(() => applyCommand(s, cmd), AlreadyExistsError);
  applyCommand(s, { kind: "service.delete", at, id: "a" });
  // The name is free now, but the client was (or will be) told ALREADY_EXISTS for this write.
  assert.throws(() => applyCommand(s, cmd), (e) => {
    assert.ok(e instanceof AlreadyExistsError);
    assert.equal(e.message, 'service "web" already exists');
    return true;
  });
  assert.equal(s.services.size, 0);

  const scale: Command = { kind: "service.scale", at, requestId: R2, id: "nope", replicas: 2 };
  assert.throws(() => applyCommand(s, scale), NotFoundError);
  assert.throws(() => applyCommand(s, scale), NotFoundError);
});

Deno.test("fsm requests: a recorded error comes back with its class, field and message", () => {
  const s = emptyState();
  const cases: [Error, (e: unknown) => boolean][] = [
    [
      new ValidationError("spec.name", "bad"),
      (e) =>
        e instanceof ValidationError && e.field === "spec.name" && e.message === "spec.name: bad",
    ],
    [
      new FailedPreconditionError("in use"),
      (e) => e instanceof FailedPreconditionError && e.message === "in use",
    ],
    [
      new NotFoundError("node", "n9"),
      (e) => e instanceof NotFoundError && e.message === 'node "n9" not found',
    ],
  ];
  for (const [err, check] of cases) {
    const outcome = JSON.parse(JSON.stringify(failed("node.update", err))) as RequestOutcome;
    assert.throws(() => replayRequest(s, R1, outcome, "node.update"), check);
  }
});

/** A state whose cluster is at feature level `level` (as `cluster.init` records it). */
function atLevel(level: number): ClusterState {
  const s = emptyState();
  applyCommand(s, {
    kind: "cluster.init",
    at,
    cluster: {
      id: "c1",
      name: "c",
      createdAt: at,
      cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/16", nodeSubnetBits: 24 },
      featureLevel: level,
    },
  });
  return s;
}

Deno.test("fsm requests: an ID reused for another kind of write is refused, changing nothing", () => {
  const s = atLevel(REQUEST_FINGERPRINT_LEVEL);
  applyCommand(s, { kind: "service.create", at, requestId: R1, service: service("web") });
  const before = snap(s);
  assert.throws(
    () => applyCommand(s, { kind: "service.delete", at, requestId: R1, id: "web" }),
    (e) =>
      e instanceof RequestIdReusedError && e.code === "request_id_reused" &&
      e.message.startsWith(
        `request ID "${R1}" (header Idempotency-Key or warren-request-id) was used for a ` +
          "different request already (a service.create, and this is a service.delete): this " +
          "request was not applied.",
      ),
  );
  assert.equal(snap(s), before);
});

Deno.test("fsm requests: below feature level 3 an ID reused for another kind of write is answered as a level-2 manager answers it", () => {
  // A cluster mid-upgrade: its managers of level 2 answer the entry with this ValidationError.
  // Those of level 3 must answer the same entry alike, whichever of them proposed it.
  for (const level of [1, REQUEST_FINGERPRINT_LEVEL - 1]) {
    const s = atLevel(level);
    applyCommand(s, { kind: "service.create", at, requestId: R1, service: service("web") });
    const before = snap(s);
    assert.throws(
      () => applyCommand(s, { kind: "service.delete", at, requestId: R1, id: "web" }),
      (e) =>
        e instanceof ValidationError && e.field === "requestId" &&
        e.message ===
          `requestId: ${R1} was used for a service.create already, not for a service.delete: ` +
            "a new write needs a new request ID",
      `level ${level}`,
    );
    assert.equal(snap(s), before);
  }
});

Deno.test("fsm requests: an ID reused with another request fingerprint is refused, changing nothing", () => {
  const s = emptyState();
  const create: Command = {
    kind: "service.create",
    at,
    requestId: R1,
    requestFingerprint: FP_A,
    service: service("web"),
  };
  applyCommand(s, create);
  assert.deepEqual(s.requests.get(R1), {
    kind: "service.create",
    fingerprint: FP_A,
    ok: true,
    id: "web",
  });
  const before = snap(s);
  // Another body under the same ID: not applied, and not answered as the first one was.
  const other: Command = {
    ...create,
    requestFingerprint: FP_B,
    service: service("api-id", { name: "api" }),
  };
  assert.throws(
    () => applyCommand(s, other),
    (e) =>
      e instanceof RequestIdReusedError &&
      /\(a service.create with another body or target\): this request was not applied/.test(
        e.message,
      ),
  );
  assert.equal(snap(s), before, "no service api, the table as it was");
  // The same request again still gets the first answer (a retry as another manager proposes it).
  const again = applyCommand(s, {
    ...create,
    at: at + 1,
    service: service("other-id", { name: "web" }),
  });
  assert.equal((again.result as { id: string }).id, "web");
  assert.deepEqual(again.changes, []);
  // A recorded failure is guarded alike.
  const scale: Command = {
    kind: "service.scale",
    at,
    requestId: R2,
    requestFingerprint: FP_A,
    id: "nope",
    replicas: 2,
  };
  assert.throws(() => applyCommand(s, scale), NotFoundError);
  assert.throws(
    () => applyCommand(s, { ...scale, requestFingerprint: FP_B }),
    RequestIdReusedError,
  );
  assert.throws(() => applyCommand(s, scale), NotFoundError);
});

Deno.test("fsm requests: two requests with one ID proposed before either applied: only the first applies, on every manager", () => {
  // Both passed the API's check (the state showed neither); the log orders them.
  const log: Command[] = [
    { kind: "service.scale", at, requestId: R1, requestFingerprint: FP_A, id: "web", replicas: 3 },
    { kind: "service.scale", at, requestId: R1, requestFingerprint: FP_B, id: "web", replicas: 7 },
  ];
  const managers = [emptyState(), emptyState()];
  const answers = managers.map((s) => {
    applyCommand(s, { kind: "service.create", at, service: service("web") });
    return runAll(s, log);
  });
  assert.deepEqual(answers[1], answers[0], "the leader and a follower answer alike");
  assert.match(answers[0][1], /^RequestIdReusedError: request ID "req-0000000000000001"/);
  for (const s of managers) assert.equal(s.services.get("web")!.spec.replicas, 3);
  assert.equal(snap(managers[1]), snap(managers[0]));
});

Deno.test("fsm requests: without a fingerprint on either side a repeat answers as before", () => {
  const s = emptyState();
  // An outcome recorded before fingerprints (an old log entry): any repeat gets it.
  const old: Command = { kind: "service.create", at, requestId: R1, service: service("web") };
  applyCommand(s, old);
  assert.equal(s.requests.get(R1)!.fingerprint, undefined);
  const later = applyCommand(s, {
    ...old,
    requestFingerprint: FP_B,
    service: service("api-id", { name: "api" }),
  });
  assert.equal((later.result as { id: string }).id, "web");
  assert.equal(s.services.has("api-id"), false);
  // A command without one (proposed before the cluster's level allowed it) gets the first answer.
  applyCommand(s, { ...old, requestId: R2, requestFingerprint: FP_A, service: service("db") });
  const plain = applyCommand(s, { ...old, requestId: R2, service: service("x", { name: "x" }) });
  assert.equal((plain.result as { id: string }).id, "db");
  assert.equal(s.services.size, 2);
});

Deno.test("fsm requests: a refusal names the header the ID came in, when known", () => {
  const s = emptyState();
  const first: RequestOutcome = { kind: "service.delete", fingerprint: FP_A, ok: true };
  assert.equal(replayRequest(s, R1, first, "service.delete", { fingerprint: FP_A }), undefined);
  assert.throws(
    () =>
      replayRequest(s, R1, first, "service.delete", {
        fingerprint: FP_B,
        header: "Idempotency-Key",
      }),
    (e) =>
      e instanceof RequestIdReusedError &&
      e.message ===
        `Idempotency-Key "${R1}" was used for a different request already (a service.delete ` +
          "with another body or target): this request was not applied. Send a new " +
          "Idempotency-Key with a new request; only the same request sent again gets the " +
          "first one's answer",
  );
});

Deno.test("fsm requests: a repeat after its object was deleted says so (not found)", () => {
  const s = emptyState();
  const cmd: Command = { kind: "service.create", at, requestId: R1, service: service("web") };
  applyCommand(s, cmd);
  applyCommand(s, { kind: "service.delete", at, requestId: R2, id: "web" });
  assert.throws(() => applyCommand(s, cmd), NotFoundError);
  // A delete answers nothing, and its repeat the same, not NOT_FOUND.
  assert.equal(
    applyCommand(s, { kind: "service.delete", at, requestId: R2, id: "web" }).result,
    undefined,
  );
});

Deno.test("fsm requests: the table keeps the last IDs only, forgetting the oldest first", () => {
  const s = emptyState();
  applyCommand(s, { kind: "node.register", at, node: node("n1") });
  const create: Command = { kind: "service.create", at, requestId: R1, service: service("web") };
  applyCommand(s, create);
  const label = (i: number): Command => ({
    kind: "node.update",
    at,
    requestId: `label-${String(i).padStart(12, "0")}`,
    id: "n1",
    update: { labelsAdd: { [`k${i % 4}`]: String(i) }, labelsRemove: [] },
  });
  for (let i = 0; i < MAX_REMEMBERED_REQUESTS - 1; i++) applyCommand(s, label(i));
  assert.equal(s.requests.size, MAX_REMEMBERED_REQUESTS);
  assert.deepEqual(applyCommand(s, create).changes, [], "still remembered");
  applyCommand(s, label(MAX_REMEMBERED_REQUESTS - 1));
  assert.equal(s.requests.size, MAX_REMEMBERED_REQUESTS, "bounded");
  assert.equal(s.requests.has(R1), false, "the oldest is forgotten");
  // Past the window a repeat is a new write again (here refused, the name being taken).
  assert.throws(() => applyCommand(s, create), AlreadyExistsError);
  // The newer ones are still answered from the table: label k1 keeps its last value.
  const labels = s.nodes.get("n1")!.labels;
  assert.deepEqual(applyCommand(s, label(5)).changes, []);
  assert.equal(s.nodes.get("n1")!.labels, labels);
});

Deno.test("fsm requests: snapshots keep the table and its order; old snapshots restore empty", () => {
  const s = emptyState();
  const cmd: Command = { kind: "service.create", at, requestId: R1, service: service("web") };
  applyCommand(s, cmd);
  applyCommand(s, { kind: "service.scale", at, requestId: R2, id: "web", replicas: 3 });
  const r = restored(s);
  assert.deepEqual([...r.requests.keys()], [R1, R2]);
  assert.deepEqual(applyCommand(r, cmd).changes, [], "a restored manager answers the repeat");
  assert.equal(snap(r), snap(s));

  // A snapshot from before the table: no request is remembered, everything else restores.
  const { requests: _, ...old } = JSON.parse(snap(s));
  const o = fromSnapshot(old);
  assert.equal(o.requests.size, 0);
  assert.equal(o.services.get("web")!.spec.replicas, 3);
});

Deno.test("fsm requests: snapshots keep fingerprints; a snapshot from before them answers repeats as before", () => {
  const s = emptyState();
  const create: Command = {
    kind: "service.create",
    at,
    requestId: R1,
    requestFingerprint: FP_A,
    service: service("web"),
  };
  applyCommand(s, create);
  const other: Command = {
    ...create,
    requestFingerprint: FP_B,
    service: service("x", { name: "x" }),
  };
  const r = restored(s);
  assert.equal(r.requests.get(R1)!.fingerprint, FP_A);
  assert.equal(snap(r), snap(s));
  assert.throws(
    () => applyCommand(r, other),
    RequestIdReusedError,
    "a restored manager refuses alike",
  );
  assert.deepEqual(applyCommand(r, create).changes, []);

  // Taken by a binary before fingerprints: its outcomes have none, and a repeat with any
  // fingerprint gets the first answer, as that binary answers it.
  const old = JSON.parse(snap(s));
  old.requests = old.requests.map((
    [id, { fingerprint: _, ...o }]: [string, RequestOutcome],
  ) => [id, o]);
  assert.equal(JSON.stringify(old).includes(FP_A), false);
  const o = fromSnapshot(old);
  assert.equal((applyCommand(o, other).result as { id: string }).id, "web");
  assert.equal(o.services.has("x"), false);
});

Deno.test("fsm requests: log entries without an ID encode and apply exactly as before", () => {
  const cmd: Command = { kind: "service.create", at, service: service("web") };
  assert.equal(new TextDecoder().decode(encodeCommand(cmd)).includes("requestId"), false);
  const s = emptyState();
  applyCommand(s, cmd);
  assert.equal(s.requests.size, 0);
  assert.throws(() => applyCommand(s, cmd), AlreadyExistsError);
  // And an ID and a fingerprint survive encoding (zod would drop an unknown field).
  const tagged = new TextDecoder().decode(
    encodeCommand({ ...cmd, requestId: R1, requestFingerprint: FP_A }),
  );
  assert.equal(JSON.parse(tagged).requestId, R1);
  assert.equal(JSON.parse(tagged).requestFingerprint, FP_A);
  assert.throws(() => encodeCommand({ ...cmd, requestFingerprint: "not a fingerprint" }));
});

/** Writes of a few services, each tagged with one of a few request IDs (or none). */
const taggedArb: fc.Arbitrary<Command> = fc.record({
  op: fc.constantFrom("create", "scale", "update", "delete"),
  n: fc.constantFrom("a", "b"),
  r: fc.nat(3),
  id: fc.constantFrom(undefined, R1, R2, "req-000000000000000c"),
  fp: fc.constantFrom(undefined, FP_A, FP_B),
}).map(({ op, n, r, id, fp }): Command => {
  const requestId = id === undefined
    ? {}
    : { requestId: id, ...(fp === undefined ? {} : { requestFingerprint: fp }) };
  switch (op) {
    case "create":
      return { kind: "service.create", at, ...requestId, service: service(`id-${n}`, { name: n }) };
    case "scale":
      return { kind: "service.scale", at, ...requestId, id: `id-${n}`, replicas: r };
    case "update":
      return {
        kind: "service.update",
        at,
        ...requestId,
        id: `id-${n}`,
        spec: service(`id-${n}`, { name: n, image: `registry.local/app:${r}` }).spec,
      };
    default:
      return { kind: "service.delete", at, ...requestId, id: `id-${n}` };
  }
});

function runAll(s: ClusterState, cmds: Command[]): string[] {
  const answers: string[] = [];
  for (const c of cmds) {
    try {
      answers.push(JSON.stringify(applyCommand(s, c)));
    } catch (err) {
      answers.push(`${(err as Error).name}: ${(err as Error).message}`);
    }
  }
  return answers;
}

Deno.test("fsm requests: same commands, same answers and state, across a snapshot (property)", () => {
  fc.assert(
    fc.property(fc.array(taggedArb, { maxLength: 40 }), fc.nat(40), (cmds, cut) => {
      const a = emptyState();
      const answersA = runAll(a, cmds);
      // Another manager: the same log, restored from a snapshot taken part way.
      let b = emptyState();
      const answersB = runAll(b, cmds.slice(0, cut));
      b = restored(b);
      answersB.push(...runAll(b, cmds.slice(cut)));
      assert.deepEqual(answersB, answersA);
      assert.equal(snap(b), snap(a));
      // Each request ID wrote at most once: a service's revision counts the writes without an
      // ID plus one per distinct ID.
      for (const sv of a.services.values()) {
        const writes = cmds.filter((c) =>
          (c.kind === "service.scale" || c.kind === "service.update") && c.id === sv.id
        );
        const untagged = writes.filter((c) => c.requestId === undefined).length;
        const ids = new Set(writes.flatMap((c) => c.requestId ?? [])).size;
        assert.ok(serviceRevision(sv) <= 1 + untagged + ids);
      }
    }),
    { numRuns: 300 },
  );
});
