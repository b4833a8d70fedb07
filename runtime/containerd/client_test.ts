import assert from "node:assert/strict";
import { startContainerd } from "../../tests/fixtures/containerd.ts";
import {
  ContainerdClient,
  ContainerdError,
  DEFAULT_NAMESPACE,
  isContainerdCode,
} from "./client.ts";

Deno.test("client: typed calls, namespace header, errors mapped to Warren codes", async () => {
  await using ctd = await startContainerd();
  using a = new ContainerdClient({ socket: ctd.socket, namespace: "ns-a" });
  using b = new ContainerdClient({ socket: ctd.socket, namespace: "ns-b" });
  {
    using d = new ContainerdClient({ socket: "/nonexistent" });
    assert.equal(d.namespace, DEFAULT_NAMESPACE);
  }

  assert.match((await a.version.version({})).version, /^1\.6\./);
  await a.leases.create({ id: "only-in-a", labels: {} });
  // The namespace header scopes every call: b does not see a's lease.
  assert.deepEqual((await a.leases.list({ filters: [] })).leases.map((l) => l.id), ["only-in-a"]);
  assert.deepEqual((await b.leases.list({ filters: [] })).leases, []);

  await assert.rejects(a.leases.create({ id: "only-in-a", labels: {} }), (err) => {
    assert.ok(err instanceof ContainerdError);
    assert.equal(err.code, "already_exists");
    assert.equal(err.method, "/containerd.services.leases.v1.Leases/Create");
    assert.match(err.message, /^containerd Leases\/Create: /);
    return true;
  });
  await assert.rejects(
    a.containers.get({ id: "missing" }),
    (e) => isContainerdCode(e, "not_found"),
  );

  // Server streams iterate with types and map errors the same way.
  const names: string[] = [];
  for await (const res of a.content.list({ filters: [] })) {
    names.push(...res.info.map((i) => i.digest));
  }
  assert.deepEqual(names, []);
  const reading = a.content.read({ digest: `sha256:${"0".repeat(64)}`, offset: 0, size: 0 });
  await assert.rejects(async () => {
    for await (const _ of reading) { /* none */ }
  }, (e) => isContainerdCode(e, "not_found"));

  // An aborted signal cancels the call.
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(a.version.version({}, { signal: ac.signal }), ContainerdError);
});

Deno.test("client: waitReady gives up with a clear error when nothing listens", async () => {
  using c = new ContainerdClient({ socket: `/tmp/warren-no-such-${crypto.randomUUID()}.sock` });
  await assert.rejects(c.waitReady(300), (err) => {
    assert.ok(err instanceof Error && /did not answer within 300 ms/.test(err.message));
    assert.equal((err as { code?: string }).code, "unavailable");
    return true;
  });
});
