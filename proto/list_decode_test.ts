import assert from "node:assert/strict";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import * as d from "./schema/mod.ts";
import * as w from "./gen/warren.ts";
import { codecs } from "./convert.ts";
import { decodeServiceList } from "./list_decode.ts";

const full = d.ServiceSchema.parse({
  id: "svc-1",
  spec: {
    name: "web",
    image: "busybox:1.36",
    command: ["httpd"],
    env: ["A=1"],
    workdir: "/srv",
    replicas: 3,
    ports: [{ target: 80, published: 8080 }],
    healthCheck: { type: "tcp", tcp: { port: 80 } },
    labels: { tier: "front" },
  },
  previousSpec: { name: "web", image: "busybox:1.35" },
  specVersion: 7,
  sameSpecVersion: 5,
  vip: "10.96.0.10",
  updateStatus: { state: "updating", message: "1 of 3", startedAt: 5 },
  createdAt: 1_795_741_525_437,
  updatedAt: 1_795_741_525_438,
});
const bare = d.ServiceSchema.parse({
  id: "svc-2",
  spec: { name: "db", image: "postgres" },
  specVersion: 1,
  createdAt: 0,
  updatedAt: 0,
});

/** What the client decoded before: the whole wire message, then the converter. */
function reference(bytes: Uint8Array): d.ListServicesResponse {
  return codecs.ListServicesResponse.fromWireTrusted(w.ListServicesResponse.decode(bytes));
}

function encode(r: d.ListServicesResponse): Uint8Array {
  return w.ListServicesResponse.encode(codecs.ListServicesResponse.toWire(r)).finish();
}

Deno.test("decodeServiceList equals decode + fromWireTrusted, and round-trips", () => {
  for (
    const r of [
      { services: [], index: 0 },
      { services: [bare], index: 1 },
      { services: [full, bare, full], index: 9_007_199_254_740_991 },
    ]
  ) {
    const bytes = encode(r);
    const got = decodeServiceList(bytes);
    assert.deepEqual(got, reference(bytes));
    assert.deepEqual(got, r);
  }
});

Deno.test("decodeServiceList skips unknown fields and takes the last index, as protobuf does", () => {
  const wr = new BinaryWriter();
  wr.uint32((2 << 3) | 0).uint64(4);
  wr.uint32((9 << 3) | 2).string("a field of a newer manager");
  w.Service.encode(codecs.Service.toWire(bare), wr.uint32((1 << 3) | 2).fork()).join();
  wr.uint32((10 << 3) | 0).uint64(77);
  wr.uint32((2 << 3) | 0).uint64(12);
  const bytes = wr.finish();
  assert.deepEqual(decodeServiceList(bytes), reference(bytes));
  assert.deepEqual(decodeServiceList(bytes), { services: [bare], index: 12 });
});

Deno.test("decodeServiceList refuses an index beyond 2^53 and truncated bytes", () => {
  const big = new BinaryWriter().uint32((2 << 3) | 0).uint64("9007199254740992").finish();
  assert.throws(() => decodeServiceList(big), /larger than Number.MAX_SAFE_INTEGER/);
  const bytes = encode({ services: [full], index: 3 });
  assert.throws(() => decodeServiceList(bytes.subarray(0, bytes.length - 10)));
});
