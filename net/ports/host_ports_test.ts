import assert from "node:assert/strict";
import { hostPortMappings, jumpsToPortmap } from "./host_ports.ts";

Deno.test("hostPortMappings: only host-mode published ports", () => {
  assert.deepEqual(
    hostPortMappings([
      { protocol: "tcp", target: 80, published: 8080, publishMode: "host" },
      { protocol: "udp", target: 53, published: 5353, publishMode: "host" },
      { protocol: "tcp", target: 81, published: 8081, publishMode: "ingress" },
      { protocol: "tcp", target: 82, publishMode: "host" },
    ]),
    [
      { hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostPort: 5353, containerPort: 53, protocol: "udp" },
    ],
  );
});

Deno.test("jumpsToPortmap: -D for every built-in jump into portmap's chains, quotes kept", () => {
  const lines = [
    "-P PREROUTING ACCEPT",
    '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "CNI portfwd" -j CNI-HOSTPORT-DNAT',
    "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
    '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    "-A POSTROUTING -j WARREN-POSTRT-1a2b3c4d",
    "-A CNI-HOSTPORT-DNAT -p tcp -j CNI-DN-abc",
  ];
  assert.deepEqual(jumpsToPortmap(lines), [
    [
      "-D",
      "PREROUTING",
      ..."-m addrtype --dst-type LOCAL -m comment --comment".split(" "),
      "CNI portfwd",
      "-j",
      "CNI-HOSTPORT-DNAT",
    ],
    ["-D", "OUTPUT", ..."-m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT".split(" ")],
    [
      "-D",
      "POSTROUTING",
      "-m",
      "comment",
      "--comment",
      "CNI portfwd requiring masquerade",
      "-j",
      "CNI-HOSTPORT-MASQ",
    ],
  ]);
});
