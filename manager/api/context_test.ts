import assert from "node:assert/strict";
import { type ApiContext, idByPrefix, resolve, withRequestId } from "./context.ts";
import { NotFoundError, RequestIdReusedError, ValidationError } from "../../proto/errors.ts";
import { Store } from "../state/store.ts";
import { type Command, decodeCommand, encodeCommand } from "../state/commands.ts";
import { type ClusterState, toSnapshot } from "../state/fsm_state.ts";
import { REQUEST_FINGERPRINT_LEVEL } from "../state/fsm_feature_level.ts";
import { service } from "../state/_fixtures_test_util.ts";
import { deleteService, scaleService } from "./services.ts";

Deno.test("resolve: by ID, by name, by a unique ID prefix of two or more characters", () => {
  const byId = new Map([["abc123", "web"], ["abd456", "db"], ["xyz789", "cache"]]);
  const byName = new Map([["web", "abc123"], ["db", "abd456"], ["cache", "xyz789"]]);
  const find = (ref: string) => resolve(byId, byName, ref, "service");
  assert.equal(find("abd456"), "db");
  assert.equal(find("cache"), "cache");
  assert.equal(find("xy"), "cache");
  assert.equal(find("abc"), "web");
  assert.throws(() => find("x"), NotFoundError, "one character is not a prefix");
  assert.throws(() => find("zz"), NotFoundError);
  assert.throws(
    () => find("ab"),
    (err) =>
      err instanceof ValidationError &&
      err.message === 'service: ID prefix "ab" is ambiguous: 2 services have it ' +
          "(abc123, abd456); give more of the ID",
  );
  // A name wins over an ID prefix it happens to be.
  byName.set("ab", "xyz789");
  assert.equal(find("ab"), "cache");
  assert.equal(idByPrefix([], "ab", "task"), undefined);
});

const R1 = "req-0000000000000001";

/**
 * A context over a real store, its cluster at feature level `level` with a service "web", whose
 * Raft applies each proposal at once, or with `hold` set holds them until {@link flush} applies
 * them in order (as the log would).
 */
function storeContext(level: number) {
  const store = new Store();
  let index = 0;
  const apply = (cmd: Command) => store.apply(encodeCommand(cmd), ++index);
  apply({
    kind: "cluster.init",
    at: 1,
    cluster: {
      id: "c1",
      name: "c",
      createdAt: 1,
      cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/16", nodeSubnetBits: 24 },
      featureLevel: level,
    },
  });
  apply({ kind: "service.create", at: 1, service: service("web") });
  const proposed: Command[] = [];
  const held: { data: Uint8Array; done: PromiseWithResolvers<unknown> }[] = [];
  let waiter: { count: number; done: PromiseWithResolvers<void> } | undefined;
  const t = {
    hold: false,
    proposed,
    store,
    ctx: {
      store,
      raft: {
        leader: { leaderId: "m1", isLeader: true },
        read: () => Promise.resolve(),
        propose: (data: Uint8Array) => {
          proposed.push(decodeCommand(data));
          if (!t.hold) return Promise.resolve().then(() => store.apply(data, ++index));
          const done = Promise.withResolvers<unknown>();
          held.push({ data, done });
          if (waiter && held.length >= waiter.count) waiter.done.resolve();
          return done.promise;
        },
      },
      now: () => 2000,
      newId: () => "id1",
      nodeId: "m1",
      version: "test",
    } as unknown as ApiContext,
    /** Resolves once `count` proposals are held. */
    held(count: number): Promise<void> {
      if (held.length >= count) return Promise.resolve();
      waiter = { count, done: Promise.withResolvers<void>() };
      return waiter.done.promise;
    },
    /** Applies the held proposals in order, answering each proposer. */
    flush(): void {
      for (const { data, done } of held.splice(0)) {
        try {
          done.resolve(store.apply(data, ++index));
        } catch (err) {
          done.reject(err);
        }
      }
    },
  };
  return t;
}

Deno.test("answerOnce: from level 3 an ID reused for another request is refused naming its header, proposing nothing", async () => {
  const t = storeContext(REQUEST_FINGERPRINT_LEVEL);
  const c = withRequestId(t.ctx, R1, "Idempotency-Key");
  const first = await scaleService(c, "web", 3);
  assert.equal(first.spec.replicas, 3);
  assert.match(t.proposed[0].requestFingerprint ?? "", /^[A-Za-z0-9_-]{22}$/);
  const before = JSON.stringify(toSnapshot(t.store.state as ClusterState));
  await assert.rejects(
    scaleService(c, "web", 5),
    (e: unknown) =>
      e instanceof RequestIdReusedError &&
      e.message.startsWith(
        `Idempotency-Key "${R1}" was used for a different request already (a service.scale ` +
          "with another body or target): this request was not applied.",
      ),
  );
  // Another kind of write under the ID, the same.
  await assert.rejects(deleteService(c, "web"), RequestIdReusedError);
  assert.equal(t.proposed.length, 1, "refused before proposing");
  assert.equal(JSON.stringify(toSnapshot(t.store.state as ClusterState)), before);
  // The same request again gets the first answer, without a proposal.
  assert.deepEqual(await scaleService(c, "web", 3), first);
  assert.equal(t.proposed.length, 1);
});

Deno.test("answerOnce: two requests with one ID in flight at once: the first applies, the second is refused", async () => {
  const t = storeContext(REQUEST_FINGERPRINT_LEVEL);
  const c = withRequestId(t.ctx, R1, "warren-request-id");
  t.hold = true;
  // Both pass the check before proposing (the state shows neither yet)...
  const calls = new Map([[3, scaleService(c, "web", 3)], [7, scaleService(c, "web", 7)]]);
  await t.held(2);
  assert.notEqual(t.proposed[0].requestFingerprint, t.proposed[1].requestFingerprint);
  // ... and the log orders them: the FSM refuses the second. Which one is first is not the
  // order of the calls: each awaits its fingerprint's digest (crypto.subtle, off the thread).
  const [first, second] = t.proposed.map((p) => (p as { replicas: number }).replicas);
  t.flush();
  assert.equal((await calls.get(first)!).spec.replicas, first);
  await assert.rejects(
    calls.get(second)!,
    (e: unknown) =>
      e instanceof RequestIdReusedError && e.message.startsWith(`warren-request-id "${R1}"`),
  );
  assert.equal(t.store.state.services.get("web")!.spec.replicas, first);
});

Deno.test("answerOnce: below level 3 commands carry no fingerprint, and a reused ID answers as before", async () => {
  const t = storeContext(REQUEST_FINGERPRINT_LEVEL - 1);
  const c = withRequestId(t.ctx, R1, "Idempotency-Key");
  const first = await scaleService(c, "web", 3);
  assert.equal(
    "requestFingerprint" in t.proposed[0],
    false,
    "an older manager would not record it",
  );
  assert.deepEqual(await scaleService(c, "web", 5), first);
  assert.equal(t.store.state.services.get("web")!.spec.replicas, 3);
});
