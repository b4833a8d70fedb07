import assert from "node:assert/strict";
import { type ServiceSpecInput, ServiceSpecSchema } from "./schema/mod.ts";
import { publishedPortConflict } from "./service_rules.ts";

const spec = (name: string, ports: ServiceSpecInput["ports"] = []) =>
  ServiceSpecSchema.parse({ name, image: "registry.local/app:1", ports });
const holder = (name: string, ports: ServiceSpecInput["ports"]) => ({
  id: `id-${name}`,
  spec: spec(name, ports),
});

Deno.test("service rules: an ingress port clashes with any use of its number and protocol", () => {
  const p1 = holder("p1", [{ target: 80, published: 8080 }]);
  const h1 = holder("h1", [{ target: 80, published: 9090, publishMode: "host" }]);
  const h2 = holder("h2", [{ target: 80, published: 9090, publishMode: "host" }]);
  const conflict = (ports: ServiceSpecInput["ports"]) =>
    publishedPortConflict(spec("new", ports), [p1, h1]);
  assert.deepEqual(conflict([{ target: 1, published: 8080 }]), {
    field: "spec.ports[0].published",
    reason: 'port 8080/tcp is already in use by service "p1" as an ingress port (published ' +
      'on every node): publish another port, or remove it from "p1" first',
  });
  assert.match(
    conflict([{ target: 1, published: 8080, publishMode: "host" }])!.reason,
    /in use by service "p1" as an ingress port/,
  );
  assert.match(
    conflict([{ target: 1, published: 7 }, { target: 1, published: 9090 }])!.field,
    /^spec\.ports\[1\]\.published$/,
  );
  assert.match(conflict([{ target: 1, published: 9090 }])!.reason, /"h1" as a host-mode port/);
  // No clash: host next to host (the scheduler keeps them apart), UDP next to TCP, no publish.
  assert.equal(conflict([{ target: 1, published: 9090, publishMode: "host" }]), undefined);
  assert.equal(conflict([{ target: 1, published: 8080, protocol: "udp" }]), undefined);
  assert.equal(conflict([{ target: 8080 }]), undefined);
  assert.equal(
    publishedPortConflict(h1.spec, [h1, h2], { selfId: h1.id, prev: h1.spec }),
    undefined,
  );
});

Deno.test("service rules: a service keeps its own ports, and ones it shared before the rule", () => {
  const p1 = holder("p1", [{ target: 80, published: 8080 }]);
  const p2 = holder("p2", [{ target: 80, published: 8080 }]); // shared since before the rule
  const next = spec("p1", [{ target: 81, published: 8080 }]);
  assert.equal(publishedPortConflict(next, [p1], { selfId: p1.id, prev: p1.spec }), undefined);
  assert.equal(publishedPortConflict(next, [p1, p2], { selfId: p1.id, prev: p1.spec }), undefined);
  // Claiming it in another mode is a new claim: checked.
  const host = spec("p1", [{ target: 81, published: 8080, publishMode: "host" }]);
  assert.match(
    publishedPortConflict(host, [p1, p2], { selfId: p1.id, prev: p1.spec })!.reason,
    /"p2"/,
  );
});
