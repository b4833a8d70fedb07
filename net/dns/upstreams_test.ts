import assert from "node:assert/strict";
import { containerResolvConf } from "./resolv_conf.ts";
import { hostUpstreams, parseResolvConf, parseUpstream } from "./upstreams.ts";

Deno.test("parseResolvConf: IPv4 and IPv6 nameservers, comments skipped", () => {
  const text = "# hi\nsearch x\nnameserver 10.0.0.2\nnameserver ::1\n nameserver 1.1.1.1 ; c\n" +
    "nameserver 2001:db8::53\nnameserver fe80::1%eth0\nnameserver nonsense\n";
  assert.deepEqual(parseResolvConf(text), [
    "10.0.0.2",
    "::1",
    "1.1.1.1",
    "2001:db8::53",
    "fe80::1%eth0",
  ]);
  assert.deepEqual(parseUpstream("127.0.0.1:5300"), { ip: "127.0.0.1", port: 5300 });
  assert.deepEqual(parseUpstream("10.0.0.2"), { ip: "10.0.0.2", port: 53 });
});

Deno.test("hostUpstreams: skips the resolver itself; a missing file means none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/r`, "nameserver 10.240.1.1\nnameserver 10.0.0.2\n");
    assert.deepEqual(await hostUpstreams([{ ip: "10.240.1.1", port: 53 }], `${dir}/r`), [
      { ip: "10.0.0.2", port: 53 },
    ]);
    assert.deepEqual(await hostUpstreams([], `${dir}/missing`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("containerResolvConf: the node resolver and the warren search domain", () => {
  const text = containerResolvConf("10.240.1.1");
  assert.deepEqual(parseResolvConf(text), ["10.240.1.1"]);
  assert.match(text, /^search warren$/m);
});
