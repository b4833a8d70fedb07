import assert from "node:assert/strict";
import { ServiceListEncoder } from "./service_list_encoder.ts";
import { codecs } from "../../proto/convert.ts";
import * as wire from "../../proto/gen/warren.ts";
import type { Service } from "../../proto/schema/mod.ts";
import { service } from "../state/_fixtures_test_util.ts";

/** What the generated code encodes for the same list. */
function reference(table: Map<string, Service>, index: number): Uint8Array {
  const services = [...table.values()].sort((a, b) => a.spec.name < b.spec.name ? -1 : 1);
  return wire.ListServicesResponse.encode(codecs.ListServicesResponse.toWire({ services, index }))
    .finish();
}

Deno.test("service list encoder: the same bytes as the generated encoder, through changes", () => {
  const table = new Map<string, Service>();
  for (const n of ["web", "api", "db", "cache"]) {
    table.set(n, { ...service(n, { replicas: 3, env: ["A=1"] }), vip: "10.96.0.9" });
  }
  const enc = new ServiceListEncoder();
  assert.deepEqual(enc.encode(table, 7), reference(table, 7));
  // A changed service is a new object: its new version is encoded, the others are reused.
  table.set("api", { ...table.get("api")!, spec: { ...table.get("api")!.spec, replicas: 9 } });
  table.delete("db");
  table.set("zz", { ...service("zz"), previousSpec: service("zz", { image: "r/old:1" }).spec });
  assert.deepEqual(enc.encode(table, 8), reference(table, 8));
  const decoded = codecs.ListServicesResponse.fromWire(
    wire.ListServicesResponse.decode(enc.encode(table, 8)),
  );
  assert.deepEqual(decoded.services.map((s) => [s.spec.name, s.spec.replicas]), [
    ["api", 9],
    ["cache", 3],
    ["web", 3],
    ["zz", 1],
  ]);
  assert.equal(decoded.index, 8);
  assert.deepEqual(enc.encode(new Map(), 0), reference(new Map(), 0));
});

Deno.test("service list encoder: reuses the sorted list while the index holds", () => {
  const table = new Map([["a", service("a")]]);
  const enc = new ServiceListEncoder();
  const first = enc.sorted(table, 3);
  assert.equal(enc.sorted(table, 3), first);
  assert.equal(enc.encode(table, 3), enc.encode(table, 3), "the same bytes, not a copy");
  table.set("b", service("b"));
  assert.deepEqual(enc.sorted(table, 4).services.map((s) => s.id), ["a", "b"]);
});
