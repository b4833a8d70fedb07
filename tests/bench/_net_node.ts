/**
 * One Warren node's networking for the `net` benchmark, run inside a netns host:
 * `_net_node.ts NODE_ID SUBNET DATA_DIR ADVERTISE_ADDR`. It starts what a worker daemon starts
 * (cli/daemon/node_network.ts: the WireGuard mesh and the data plane with CNI task networks,
 * VIP rules and the resolver on the bridge gateway) and attaches one task network.
 *
 * Protocol (JSON lines): prints `{"ready":{wireguard,ip,gateway,netns}}`; then reads
 * `{"apply": <partial AssignmentsMessage>}` lines from stdin, applies each to the mesh and the
 * data plane as the worker would, and prints `{"applied":true}`; on EOF detaches the task,
 * closes everything and prints `{"closed":true}`.
 * @module
 */
import { basename } from "node:path";
import { startNodeNetworking } from "../../cli/daemon/node_network.ts";
import { AssignmentsMessageSchema } from "../../proto/schema/mod.ts";

const [nodeId, subnet, dataDir, advertiseAddr] = Deno.args;
if (!nodeId || !subnet || !dataDir || !advertiseAddr) {
  console.error("usage: _net_node.ts NODE_ID SUBNET DATA_DIR ADVERTISE_ADDR");
  Deno.exit(2);
}
const say = (o: unknown) => console.log(JSON.stringify(o));
const net = await startNodeNetworking({
  nodeId,
  dataDir,
  subnet,
  clusterCidr: "10.240.0.0/16",
  advertiseAddr,
});
const taskId = `bench-${nodeId}`;
try {
  const task = await net.hooks.node.attachTask(taskId);
  say({
    ready: {
      wireguard: net.mesh.wireguard,
      ip: task.ip,
      gateway: task.gateway,
      netns: basename(task.netnsPath),
    },
  });
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const msg = AssignmentsMessageSchema.parse(JSON.parse(line).apply);
      await net.mesh.apply(msg);
      await net.hooks.apply(msg);
      say({ applied: true });
    }
  }
} finally {
  await net.hooks.detach(taskId);
  await net.close();
}
say({ closed: true });
