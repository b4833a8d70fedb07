import assert from "node:assert/strict";
import { ingressIptablesRules, ingressMasqueradeRule, ingressNftRules } from "./ingress.ts";
import type { ServicePortPlan } from "../vip/service_plan.ts";

const plan: ServicePortPlan = {
  key: "s1/tcp/80",
  serviceName: "web",
  protocol: "tcp",
  targetPort: 80,
  ingressPorts: [8080, 8081],
  backends: [{ ip: "10.240.1.2", port: 80 }],
};

Deno.test("ingress: every published port marks, then jumps to the port's balancing chain", () => {
  const rules = ingressIptablesRules(plan, "WSVC-x");
  assert.equal(rules.length, 4);
  assert.match(rules[0]!, /^-p tcp -m tcp --dport 8080 .* -j MARK --set-xmark 0x80000\/0x80000$/);
  assert.match(rules[1]!, /^-p tcp -m tcp --dport 8080 .* -j WSVC-x$/);
  assert.match(rules[3]!, /--dport 8081 .* -j WSVC-x$/);
  assert.deepEqual(ingressNftRules(plan, "svc_x"), [
    "tcp dport 8080 meta mark set meta mark | 0x80000 jump svc_x",
    "tcp dport 8081 meta mark set meta mark | 0x80000 jump svc_x",
  ]);
  assert.equal(ingressIptablesRules({ ...plan, ingressPorts: [] }, "WSVC-x").length, 0);
});

Deno.test("ingress: masquerade only what leaves by another interface than the bridge", () => {
  assert.equal(
    ingressMasqueradeRule("wbr1"),
    "-m mark --mark 0x80000/0x80000 ! -o wbr1 -j MASQUERADE",
  );
});
