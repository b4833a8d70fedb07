import assert from "node:assert/strict";
import { managerBanner } from "./manager_banner.ts";

Deno.test("manager banner: a locked manager says so and how to unlock it", () => {
  const facts = {
    nodeId: "m1",
    clusterId: "c1",
    apiAddress: "10.0.0.1:4240",
    managerOnly: false,
    locked: false,
  };
  assert.deepEqual(managerBanner(facts), [
    "manager m1 of cluster c1 running at 10.0.0.1:4240 (also running tasks)",
  ]);
  const locked = managerBanner({ ...facts, managerOnly: true, locked: true });
  assert.equal(locked[0], "manager m1 of cluster c1 running at 10.0.0.1:4240");
  assert.match(locked[1] ?? "", /LOCKED .*warren cluster unlock --manager 10\.0\.0\.1:4240/);
});
