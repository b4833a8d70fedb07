import assert from "node:assert/strict";
import { ctxWith, infoOf, node, request, service, task } from "../_harness_test_util.ts";
import { hostPortsFilter } from "./host_ports.ts";

const web = service("web");
const ctx = ctxWith();

Deno.test("host ports: the same port/protocol in host mode cannot share a node", () => {
  const a = service("a", { hostPorts: [8080] });
  const b = service("b", { hostPorts: [8080, 9090] });
  const c = service("c", { hostPorts: [9091] });
  const n = infoOf(node("x"), [task("a1", a, "x")]);
  assert.deepEqual(hostPortsFilter.check(n, request(b), ctx), {
    reason: "has host port 8080/tcp in use",
  });
  assert.equal(hostPortsFilter.check(n, request(c), ctx), "ok");
  assert.equal(hostPortsFilter.check(n, request(web), ctx), "ok");
});
