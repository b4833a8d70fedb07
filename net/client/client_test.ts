/**
 * WarrenClient against real grpc-js servers on 127.0.0.1 with minimal in-test handlers:
 * failover across addresses, typed errors, local validation, event streams and status probes.
 */
import assert from "node:assert/strict";
import type * as grpc from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import {
  DeadlineExceededError,
  FailedPreconditionError,
  NotFoundError,
  NotLeaderError,
  UnavailableError,
  ValidationError,
} from "../../proto/errors.ts";
import * as w from "../../proto/gen/warren.ts";
import * as d from "../../proto/schema/mod.ts";
import { type GrpcServer, type HostedService, startGrpcServer } from "../grpc/server.ts";
import { toGrpcError } from "../grpc/status.ts";
import { REQUEST_ID_KEY } from "../grpc/request_id.ts";
import { WarrenClient } from "./client.ts";

const SPEC = d.ServiceSpecSchema.parse({ name: "web", image: "busybox:1.36" });
const SERVICE: d.Service = { id: "svc1", spec: SPEC, specVersion: 1, createdAt: 1, updatedAt: 1 };

function secretEvent(index: number): d.Event {
  return {
    index,
    kind: "secret",
    action: "create",
    timestamp: index,
    secret: { id: `s${index}`, name: `s${index}`, version: 1, labels: {}, createdAt: index },
  };
}

type Unary<Req, Res> = (req: Req, call: { metadata: grpc.Metadata }) => Res | Promise<Res>;

/** A unary handler that answers with `fn`'s result or its thrown error as a gRPC status. */
function unary<Req, Res>(fn: Unary<Req, Res>) {
  return async (call: { request: Req; metadata: grpc.Metadata }, cb: grpc.sendUnaryData<Res>) => {
    try {
      cb(null, await fn(call.request, call));
    } catch (err) {
      cb(toGrpcError(err));
    }
  };
}

function services(impl: {
  list?: Unary<w.ListServicesRequest, w.ListServicesResponse>;
  create?: Unary<w.CreateServiceRequest, w.Service>;
  inspect?: Unary<w.InspectServiceRequest, w.Service>;
  delete?: Unary<w.DeleteServiceRequest, w.DeleteServiceResponse>;
}): HostedService {
  const implementation: Record<string, unknown> = {};
  for (const [k, fn] of Object.entries(impl)) {
    implementation[k] = unary(fn as Unary<unknown, unknown>);
  }
  return { definition: w.ServiceServiceService, implementation } as HostedService;
}

async function serve(...hosted: HostedService[]): Promise<GrpcServer & { address: string }> {
  const server = await startGrpcServer({ address: "127.0.0.1:0", services: hosted });
  return Object.assign(server, { address: `127.0.0.1:${server.port}` });
}

/** An address where nothing listens (a port that was free a moment ago). */
function closedAddress(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `127.0.0.1:${port}`;
}

const list = () => codecs.ListServicesResponse.toWire({ services: [SERVICE], index: 7 });

Deno.test("client: fails over from an unreachable address and sticks to the one that works", async () => {
  let calls = 0;
  await using server = await serve(services({ list: () => (calls++, list()) }));
  using client = new WarrenClient({ managers: [closedAddress(), server.address] });
  const res = await client.services.list();
  assert.equal(res.index, 7);
  assert.deepEqual(res.services[0], SERVICE);
  assert.equal(calls, 1);
  // The next call goes straight to the working manager.
  await client.services.list();
  assert.equal(calls, 2);
});

Deno.test("client: a manager answering not-leader (UNAVAILABLE) makes a write move on", async () => {
  const seen: string[] = [];
  await using follower = await serve(services({
    create: () => {
      seen.push("follower");
      throw new NotLeaderError("m2");
    },
  }));
  await using leader = await serve(services({
    create: (req) => {
      seen.push("leader");
      const spec = codecs.CreateServiceRequest.fromWire(req).spec;
      return codecs.Service.toWire({ ...SERVICE, spec });
    },
  }));
  using client = new WarrenClient({ managers: [follower.address, leader.address] });
  const svc = await client.services.create({ name: "api", image: "busybox:1.36", replicas: 3 });
  assert.equal(svc.spec.name, "api");
  assert.equal(svc.spec.replicas, 3);
  assert.deepEqual(seen, ["follower", "leader"]);
});

Deno.test("client: a deadline exceeded write is not retried on another manager", async () => {
  const seen: string[] = [];
  const never = Promise.withResolvers<w.Service>();
  await using slow = await serve(services({ create: () => (seen.push("slow"), never.promise) }));
  await using other = await serve(services({
    create: () => (seen.push("other"), codecs.Service.toWire(SERVICE)),
  }));
  using client = new WarrenClient({
    managers: [slow.address, other.address],
    callTimeoutMs: 200,
  });
  await assert.rejects(
    client.services.create({ name: "web", image: "busybox:1.36" }),
    (err: Error & { code?: string }) => err.code === "deadline_exceeded",
  );
  assert.deepEqual(seen, ["slow"]);
  never.resolve(codecs.Service.toWire(SERVICE));
});

/** The request ID a call carried (undefined for none). */
const idOf = (call: { metadata: grpc.Metadata }) =>
  call.metadata.get(REQUEST_ID_KEY)[0]?.toString();

Deno.test("client: a write carries one request ID on every attempt, a new one per call", async () => {
  const seen: [string, string | undefined][] = [];
  await using follower = await serve(services({
    create: (_, call) => {
      seen.push(["follower", idOf(call)]);
      throw new UnavailableError("not the leader and cannot forward");
    },
  }));
  await using leader = await serve(services({
    create: (_, call) => (seen.push(["leader", idOf(call)]), codecs.Service.toWire(SERVICE)),
    list: (_, call) => (seen.push(["list", idOf(call)]), list()),
    delete: (_, call) => (seen.push(["delete", idOf(call)]), {}),
  }));
  using client = new WarrenClient({ managers: [follower.address, leader.address] });
  await client.services.create({ name: "web", image: "busybox:1.36" });
  await client.services.list();
  await client.services.delete("web");
  const [[, first], [, retry], [, read], [, del]] = seen;
  assert.deepEqual(seen.map(([who]) => who), ["follower", "leader", "list", "delete"]);
  assert.match(first!, /^[A-Za-z0-9_-]{22}$/, "128 random bits, base64url");
  assert.equal(retry, first, "the failover repeats the request ID");
  assert.equal(read, undefined, "reads carry none");
  assert.ok(del !== undefined && del !== first, "another call, another ID");
});

Deno.test("client: a manager's own deadline answer fails a write over only with a request ID", async () => {
  const seen: string[] = [];
  const unknownOutcome = () => {
    throw new DeadlineExceededError("raft node stopped before this change was confirmed");
  };
  await using stopping = await serve(services({
    create: () => (seen.push("create"), unknownOutcome()),
    list: () => (seen.push("list"), unknownOutcome()),
  }));
  await using other = await serve(services({
    create: () => (seen.push("other create"), codecs.Service.toWire(SERVICE)),
    list: () => (seen.push("other list"), list()),
  }));
  using client = new WarrenClient({ managers: [stopping.address, other.address] });
  // A call without one is not repeated: its outcome is unknown.
  await assert.rejects(
    client.services.list(),
    (err: Error & { code?: string }) => err.code === "deadline_exceeded",
  );
  // The write carries a request ID: the other manager answers a repeat with the first outcome.
  assert.equal((await client.services.create({ name: "web", image: "busybox" })).id, "svc1");
  assert.deepEqual(seen, ["list", "create", "other create"]);
});

Deno.test("client: typed errors come back with their kind and field", async () => {
  await using server = await serve(services({
    inspect: (req) => {
      throw req.id === "bad"
        ? new ValidationError("id", "is odd")
        : new NotFoundError("service", req.id);
    },
  }));
  using client = new WarrenClient({ managers: [server.address] });
  await assert.rejects(client.services.inspect("nope"), (err: Error & { code?: string }) => {
    assert.equal(err.code, "not_found");
    assert.equal(err.message, 'service "nope" not found');
    return true;
  });
  await assert.rejects(client.services.inspect("bad"), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, "id");
    return true;
  });
});

Deno.test("client: invalid input fails locally with a field path and sends nothing", async () => {
  let calls = 0;
  await using server = await serve(services({
    create: () => (calls++, codecs.Service.toWire(SERVICE)),
  }));
  using client = new WarrenClient({ managers: [server.address] });
  await assert.rejects(
    client.services.create({ name: "Web!", image: "busybox" }),
    (err: unknown) => err instanceof ValidationError && err.field === "spec.name",
  );
  await assert.rejects(
    client.services.create({ name: "web", image: "busybox", mode: "global", replicas: 2 }),
    (err: unknown) => err instanceof ValidationError && err.field === "spec.replicas",
  );
  assert.equal(calls, 0);
  assert.throws(() => new WarrenClient({ managers: ["nohost"] }), ValidationError);
  assert.throws(() => new WarrenClient({ managers: [] }), ValidationError);
});

Deno.test("client: every manager unreachable gives a retryable unavailable error naming them", async () => {
  const a = closedAddress();
  const b = closedAddress();
  using client = new WarrenClient({ managers: [a, b] });
  await assert.rejects(client.services.list(), (err: Error & { code?: string }) => {
    assert.equal(err.code, "unavailable");
    assert.match(err.message, new RegExp(`tried ${a}, ${b}`));
    return true;
  });
});

Deno.test("client: a manager's own unavailable answer (no quorum) beats an unreachable one's", async () => {
  const noQuorum = await serve(services({
    list: () => {
      throw new UnavailableError("no quorum: a majority (2 of 2) of the managers must be up");
    },
  }));
  try {
    // The reachable manager is tried first and last: the unreachable one's error comes after.
    using client = new WarrenClient({ managers: [noQuorum.address, closedAddress()] });
    await assert.rejects(client.services.list(), (err: Error & { code?: string }) => {
      assert.equal(err.code, "unavailable");
      assert.match(err.message, /^no quorum: a majority/);
      return true;
    });
  } finally {
    await noQuorum.stop();
  }
});

/** An EventService whose watch streams what `script` writes. */
function eventsService(
  script: (call: grpc.ServerWritableStream<w.WatchRequest, w.Event>) => void,
): HostedService {
  return {
    definition: w.EventServiceService,
    implementation: { watch: script },
  } as unknown as HostedService;
}

Deno.test("client: an event watch ends cleanly when aborted and the server sees the cancel", async () => {
  const cancelled = Promise.withResolvers<void>();
  let request: d.WatchRequest | undefined;
  await using server = await serve(eventsService((call) => {
    request = codecs.WatchRequest.fromWire(call.request);
    call.on("cancelled", () => cancelled.resolve());
    for (const i of [5, 6]) call.write(codecs.Event.toWire(secretEvent(i)));
    // Stays open: only the client's abort ends it.
  }));
  using client = new WarrenClient({ managers: [server.address] });
  const abort = new AbortController();
  const got: number[] = [];
  for await (
    const ev of client.events.watch({ fromIndex: 5, kinds: ["secret"], signal: abort.signal })
  ) {
    got.push(ev.index);
    if (got.length === 2) abort.abort();
  }
  assert.deepEqual(got, [5, 6]);
  assert.deepEqual(request, { fromIndex: 5, kinds: ["secret"] });
  await cancelled.promise;
});

Deno.test("client: an event watch resumes on the next manager after the last index", async () => {
  const requests: number[] = [];
  await using first = await serve(eventsService((call) => {
    requests.push(Number(call.request.fromIndex));
    call.write(codecs.Event.toWire(secretEvent(10)));
    call.emit("error", toGrpcError(new NotLeaderError()));
  }));
  await using second = await serve(eventsService((call) => {
    const from = Number(call.request.fromIndex);
    requests.push(from);
    call.write(codecs.Event.toWire(secretEvent(from)));
    call.end();
  }));
  using client = new WarrenClient({ managers: [first.address, second.address] });
  const got: number[] = [];
  for await (const ev of client.events.watch({ fromIndex: 10 })) got.push(ev.index);
  assert.deepEqual(got, [10, 11]);
  assert.deepEqual(requests, [10, 11]);
});

Deno.test("client: a watch from a compacted index fails with failed_precondition", async () => {
  await using server = await serve(eventsService((call) => {
    call.emit("error", toGrpcError(new FailedPreconditionError("index 3 is compacted; re-list")));
  }));
  using client = new WarrenClient({ managers: [server.address] });
  await assert.rejects(
    async () => {
      for await (const _ of client.events.watch({ fromIndex: 3 })) { /* none */ }
    },
    (err: Error & { code?: string }) =>
      err.code === "failed_precondition" && /compacted/.test(err.message),
  );
});

Deno.test("client: status probes every manager and reports the unreachable ones", async () => {
  const info: d.ClusterInfo = d.ClusterInfoSchema.parse({
    id: "c1",
    name: "edge",
    createdAt: 1,
    raft: { term: 2, leaderId: "m1", index: 9 },
    managers: 1,
    workers: 0,
    version: "0.1.0",
  });
  let stale: boolean | undefined;
  await using server = await serve({
    definition: w.ClusterServiceService,
    implementation: {
      getInfo: unary((req: w.GetClusterInfoRequest) => {
        stale = req.stale;
        return codecs.ClusterInfo.toWire(info);
      }),
    },
  } as unknown as HostedService);
  const down = closedAddress();
  using client = new WarrenClient({ managers: [server.address, down] });
  const [up, gone] = await client.status();
  assert.equal(up!.ok, true);
  assert.deepEqual(up!.cluster, info);
  assert.equal(stale, true);
  assert.equal(gone!.address, down);
  assert.equal(gone!.ok, false);
  assert.equal(gone!.error?.code, "unavailable");
  assert.deepEqual(await client.cluster.info(), info);
});

Deno.test("client: secrets carry bytes in and metadata out; update sends a new version", async () => {
  const got: { name?: string; id?: string; data: string; labels: Record<string, string> }[] = [];
  const meta = (name: string, version: number): w.Secret =>
    codecs.Secret.toWire({ id: `id-${name}`, name, version, labels: {}, createdAt: 1 });
  await using server = await serve({
    definition: w.SecretServiceService,
    implementation: {
      create: unary((req: w.CreateSecretRequest) => {
        const r = codecs.CreateSecretRequest.fromWire(req);
        got.push({ name: r.name, data: r.data, labels: r.labels });
        return meta(r.name, 1);
      }),
      update: unary((req: w.UpdateSecretRequest) => {
        const r = codecs.UpdateSecretRequest.fromWire(req);
        got.push({ id: r.id, data: r.data, labels: r.labels });
        return meta("db", 2);
      }),
    },
  } as unknown as HostedService);
  using client = new WarrenClient({ managers: [server.address] });
  const bytes = new Uint8Array([0, 1, 2, 255]);
  assert.equal((await client.secrets.create({ name: "db", data: bytes })).version, 1);
  assert.equal(
    (await client.secrets.update("db", { data: new Uint8Array([7]), labels: { a: "b" } })).version,
    2,
  );
  assert.deepEqual(got, [
    { name: "db", data: d.encodeBase64(bytes), labels: {} },
    { id: "db", data: d.encodeBase64(new Uint8Array([7])), labels: { a: "b" } },
  ]);
  // Empty data never leaves the client.
  await assert.rejects(
    client.secrets.create({ name: "db", data: new Uint8Array() }),
    (err: unknown) => err instanceof ValidationError && err.field === "data",
  );
});
