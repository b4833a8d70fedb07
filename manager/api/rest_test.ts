import assert from "node:assert/strict";
import type { Hono } from "hono";
import { isReady, MAX_BODY_BYTES, restApp } from "./rest.ts";
import type { ApiContext } from "./context.ts";
import type { Registry } from "../../net/http/metrics.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../../net/grpc/server.ts";
import { Store } from "../state/store.ts";
import { encodeCommand } from "../state/commands.ts";
import { service } from "../state/_fixtures_test_util.ts";

/**
 * The REST app over a context whose Raft records what is proposed (and answers `{}`): a refused
 * request must propose nothing, i.e. leave the cluster state unchanged.
 */
function restWith(
  opts: { maxBodyBytes?: number; store?: Store; locked?: () => boolean } = {},
): { app: Hono; proposed: unknown[] } {
  const proposed: unknown[] = [];
  const ctx = {
    ...(opts.locked ? { localKek: { locked: () => Promise.resolve(opts.locked!()) } } : {}),
    raft: {
      leader: { leaderId: "m1", isLeader: true },
      status: () => ({ commit: 7 }),
      appliedIndex: 7,
      propose: (data: unknown) => {
        proposed.push(data);
        return Promise.resolve({});
      },
      read: () => Promise.resolve(),
    },
    store: opts.store ?? { state: {}, index: 1 },
    now: () => 1,
    newId: () => "id1",
    nodeId: "m1",
    version: "test",
  } as unknown as ApiContext;
  return {
    app: restApp(ctx, { metrics: {} as Registry, maxBodyBytes: opts.maxBodyBytes }),
    proposed,
  };
}

const JSON_TYPE = { "content-type": "application/json" };
const spec = JSON.stringify({ name: "web", image: "registry.local/web:1" });

/** A body of `chunks` chunks of `chunkBytes` bytes, counting the bytes the server pulled. */
function countedStream(chunkBytes: number, chunks: number) {
  const pulled = { bytes: 0 };
  let left = chunks;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left-- === 0) return controller.close();
      pulled.bytes += chunkBytes;
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x20));
    },
  });
  return { stream, pulled };
}

Deno.test("rest: a body over the limit is refused with 413 before it is read", async () => {
  assert.equal(MAX_BODY_BYTES, DEFAULT_MAX_MESSAGE_BYTES, "the same limit as gRPC messages");
  const { app, proposed } = restWith();
  const { stream, pulled } = countedStream(1 << 16, 400 * 16); // 400 MiB if read
  const res = await app.request("/v1/services", {
    method: "POST",
    headers: { ...JSON_TYPE, "content-length": String(400 << 20) },
    body: stream,
    duplex: "half",
  } as RequestInit);
  assert.equal(res.status, 413);
  const { error } = await res.json();
  assert.equal(error.code, "payload_too_large");
  assert.match(error.message, /at most 16777216 bytes \(16 MiB\)/);
  assert.ok(pulled.bytes <= 1 << 16, `read ${pulled.bytes} bytes of a refused body`);
  assert.deepEqual(proposed, []);
});

Deno.test("rest: a chunked body (no Content-Length) is cut off once it passes the limit", async () => {
  const { app, proposed } = restWith({ maxBodyBytes: 1 << 20 });
  const { stream, pulled } = countedStream(1 << 16, 400 * 16);
  const res = await app.request("/v1/services", {
    method: "POST",
    headers: JSON_TYPE,
    body: stream,
    duplex: "half",
  } as RequestInit);
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "payload_too_large");
  assert.ok(pulled.bytes <= (1 << 20) + 2 * (1 << 16), `read ${pulled.bytes} bytes`);
  assert.deepEqual(proposed, []);

  // At the limit it is accepted: padding makes the spec exactly 1 MiB.
  const exact = spec + " ".repeat((1 << 20) - spec.length);
  const ok = await app.request("/v1/services", { method: "POST", headers: JSON_TYPE, body: exact });
  assert.equal(ok.status, 201);
  await ok.body?.cancel();
  assert.equal(proposed.length, 1);
});

Deno.test("rest: a body that is not application/json is refused with 415, even if it parses", async () => {
  const { app, proposed } = restWith();
  const types = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    undefined,
  ];
  for (const type of types) {
    const req = new Request("http://localhost/v1/services", { method: "POST", body: spec });
    if (type === undefined) req.headers.delete("content-type");
    else req.headers.set("content-type", type);
    const res = await app.request(req);
    assert.equal(res.status, 415, String(type));
    const { error } = await res.json();
    assert.equal(error.code, "unsupported_media_type");
    assert.match(error.message, /request bodies must be application\/json/);
  }
  assert.deepEqual(proposed, []);
  for (const type of ["application/json; charset=utf-8", "Application/JSON"]) {
    const res = await app.request("/v1/services", {
      method: "POST",
      headers: { "content-type": type },
      body: spec,
    });
    assert.equal(res.status, 201, type);
    await res.body?.cancel();
  }
});

Deno.test("rest: an unknown field in any body is a 400 naming it, and changes nothing", async () => {
  const { app, proposed } = restWith();
  const cases: [string, string, unknown, string][] = [
    ["PATCH", "/v1/nodes/n1", { availabilty: "drain" }, "availabilty"],
    ["POST", "/v1/secrets", { name: "db", data: "eA==", lables: {} }, "lables"],
    ["PUT", "/v1/secrets/db", { data: "eA==", lables: {} }, "lables"],
    ["POST", "/v1/volumes", { name: "data", drvier: "nfs" }, "drvier"],
    ["POST", "/v1/services/web/scale", { replicas: 3, typo: 1 }, "typo"],
    [
      "POST",
      "/v1/services",
      { name: "web", image: "registry.local/web:1", bogus: 1 },
      "spec.bogus",
    ],
  ];
  for (const [method, path, body, field] of cases) {
    const res = await app.request(path, {
      method,
      headers: JSON_TYPE,
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 400, `${method} ${path}`);
    const { error } = await res.json();
    assert.equal(error.field, field, `${method} ${path}`);
    assert.equal(error.message, `${field}: is not a known field`);
  }
  assert.deepEqual(proposed, []);
});

Deno.test("rest: a body that is not a JSON object says so, not which field is missing", async () => {
  const { app, proposed } = restWith();
  const cases: [string, RegExp][] = [
    ['"abc"', /must be a JSON object, not a string/],
    ["[5]", /must be a JSON object, not an array/],
    ["null", /must be a JSON object, not null/],
    ["5", /must be a JSON object, not a number/],
    ["abc", /must be a JSON object \(it is not valid JSON\)/],
    ["", /must be a JSON object \(it is not valid JSON\)/],
  ];
  for (const [path, method] of [["/v1/services/web/scale", "POST"], ["/v1/nodes/n1", "PATCH"]]) {
    for (const [body, reason] of cases) {
      const res = await app.request(path, { method, headers: JSON_TYPE, body });
      assert.equal(res.status, 400, `${method} ${path} ${body}`);
      const { error } = await res.json();
      assert.equal(error.field, "body");
      assert.match(error.message, reason);
    }
  }
  assert.deepEqual(proposed, []);
});

Deno.test("rest: an empty or malformed expected_spec_version is a 400, not a stale version", async () => {
  const { app, proposed } = restWith();
  for (const q of ["", "abc", "-1", "1.5", "99999999999999999999"]) {
    const res = await app.request(`/v1/services/web?expected_spec_version=${q}`, {
      method: "PUT",
      headers: JSON_TYPE,
      body: spec,
    });
    assert.equal(res.status, 400, q);
    const { error } = await res.json();
    assert.equal(error.field, "expected_spec_version");
    assert.match(error.message, /must be a version, a whole number/);
  }
  assert.deepEqual(proposed, []);
});

Deno.test("rest: query parameters are checked and named as the URL spells them", async () => {
  const { app, proposed } = restWith();
  const cases: [string, string, string, RegExp][] = [
    ["GET", "/v1/events?from_index=abc", "from_index", /"abc" must be a Raft index/],
    ["GET", "/v1/events?from_index=", "from_index", /"" must be a Raft index/],
    ["GET", "/v1/events?from_index=1.5", "from_index", /"1.5" must be a Raft index/],
    ["GET", "/v1/services?stale=yes", "stale", /must be true or false, not "yes"/],
    ["GET", "/v1/tasks?history=1", "history", /must be true or false, not "1"/],
    ["DELETE", "/v1/volumes/v1?force=1", "force", /must be true or false, not "1"/],
    ["DELETE", "/v1/nodes/n1?force=yes", "force", /must be true or false, not "yes"/],
  ];
  for (const [method, path, field, reason] of cases) {
    const res = await app.request(path, { method });
    assert.equal(res.status, 400, `${method} ${path}`);
    const { error } = await res.json();
    assert.equal(error.field, field, path);
    assert.match(error.message, reason, path);
  }
  assert.deepEqual(proposed, []);
});

Deno.test("rest: unknown paths are a JSON 404, a wrong method on a resource a JSON 405", async () => {
  const { app } = restWith();
  for (const [method, path] of [["GET", "/v1/nope"], ["POST", "/v2/services"], ["GET", "/"]]) {
    const res = await app.request(path, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const { error } = await res.json();
    assert.equal(error.code, "not_found");
    assert.equal(error.message, `path "${path}" not found`);
  }
  const cases: [string, string, string][] = [
    ["DELETE", "/v1/cluster", "GET, HEAD"],
    ["PUT", "/v1/nodes/n1", "GET, HEAD, PATCH, DELETE"],
    ["GET", "/v1/services/web/scale", "POST"],
    ["PATCH", "/v1/services", "GET, HEAD, POST"],
  ];
  for (const [method, path, allow] of cases) {
    const res = await app.request(path, { method });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), allow);
    const { error } = await res.json();
    assert.equal(error.code, "method_not_allowed");
    assert.equal(error.message, `${method} is not allowed on ${path}; it takes ${allow}`);
  }
});

Deno.test("rest: /ready needs a leader, something applied, and no large backlog", () => {
  assert.equal(isReady("m1", 10, 12), true);
  assert.equal(isReady("", 10, 10), false, "no leader");
  assert.equal(isReady("m1", 0, 0), false, "a joining member that has applied nothing yet");
  assert.equal(isReady("m1", 10, 500), false, "far behind its commit index");
});

Deno.test("rest: /ready is 503 on a manager locked by autolock, and says so", async () => {
  let locked = true;
  const { app } = restWith({ locked: () => locked });
  const res = await app.request("/ready");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    ready: false,
    leader: "m1",
    applied: 7,
    commit: 7,
    locked: true,
  });
  locked = false;
  const unlocked = await app.request("/ready");
  assert.equal(unlocked.status, 200);
  assert.deepEqual(await unlocked.json(), { ready: true, leader: "m1", applied: 7, commit: 7 });
});

Deno.test("rest: events compacted away are a 410 naming the oldest index; later ones stream", async () => {
  const store = new Store({ historyEvents: 2 });
  for (let i = 1; i <= 5; i++) {
    store.apply(encodeCommand({ kind: "service.create", at: 1, service: service(`s${i}`) }), i);
  }
  const { app } = restWith({ store });
  const gone = await app.request("/v1/events?from_index=2");
  assert.equal(gone.status, 410);
  const { error } = await gone.json();
  assert.equal(error.code, "compacted");
  assert.match(
    error.message,
    /^events up to index 3 have been compacted .* the oldest index still available is 4/,
  );
  const res = await app.request("/v1/events?from_index=4");
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("\n").length < 3) text += (await reader.read()).value ?? "";
  await reader.cancel();
  assert.deepEqual(text.split("\n").slice(0, 2).map((l) => JSON.parse(l).index), [4, 5]);
});
