/**
 * One Raft member as its own OS process, for the Raft integration test and benchmark:
 * Deno KV storage in `--data-dir`, the framed Raft transport (net/raft/tls_transport.ts) on
 * `--raft-addr` (mutual TLS with the PEM files `ca.pem`, `cert.pem`, `key.pem` of `--tls-dir`,
 * plain TCP without), a key-value state
 * machine and the client HTTP API of ./api.ts on `--client-addr`.
 *
 * ```
 * deno run -A tests/raft_member/main.ts --id m1 --data-dir DIR --raft-addr 127.0.0.1:P \
 *   --client-addr 127.0.0.1:Q [--bootstrap] [--peers m1=127.0.0.1:P1,...] [--tick-ms 50]
 *   [--election-ticks 6] [--snapshot-every 10000] [--request-timeout-ms 5000] [--tls-dir DIR]
 * ```
 * Port 0 picks a free port. Once both servers listen it prints one line
 * `ready raft=HOST:PORT client=HOST:PORT` on stdout. SIGTERM and SIGINT stop it cleanly.
 * `--bootstrap` is ignored when the data dir already holds a log (a restart).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RaftNode } from "../../manager/raft/node.ts";
import { KvStorage } from "../../manager/raft/kv_storage.ts";
import { KvStateMachine } from "../../manager/raft/_kv_sm_test_util.ts";
import { startTlsRaftServer, TlsRaftTransport } from "../../net/raft/tls_transport.ts";
import { TlsIdentity } from "../../net/grpc/tls.ts";
import { ValidationError } from "../../proto/errors.ts";
import { memberApi } from "./api.ts";

const CLUSTER_ID = "raft-member-test";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    id: { type: "string" },
    "data-dir": { type: "string" },
    "raft-addr": { type: "string" },
    "client-addr": { type: "string" },
    bootstrap: { type: "boolean", default: false },
    peers: { type: "string", default: "" },
    "tick-ms": { type: "string", default: "50" },
    "election-ticks": { type: "string", default: "6" },
    "snapshot-every": { type: "string", default: "10000" },
    "request-timeout-ms": { type: "string", default: "5000" },
    "tls-dir": { type: "string" },
  },
  strict: true,
});

function required(name: string, v: string | undefined): string {
  if (!v) throw new ValidationError(name, "is required");
  return v;
}

function hostPort(name: string, v: string): { hostname: string; port: number } {
  const i = v.lastIndexOf(":");
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) {
    throw new ValidationError(name, `want HOST:PORT, got ${v}`);
  }
  return { hostname: v.slice(0, i), port };
}

function parsePeers(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of v.split(",").filter(Boolean)) {
    const [id, addr] = p.split("=");
    if (!id || !addr) throw new ValidationError("peers", `want id=host:port, got ${p}`);
    out[id] = addr;
  }
  return out;
}

const id = required("id", a.id);
const dataDir = required("data-dir", a["data-dir"]);
const raftAddr = hostPort("raft-addr", required("raft-addr", a["raft-addr"]));
const clientAddr = hostPort("client-addr", required("client-addr", a["client-addr"]));

await Deno.mkdir(dataDir, { recursive: true });
const kv = await Deno.openKv(join(dataDir, "raft.kv"));
const storage = await KvStorage.open(kv);
const sm = new KvStateMachine();
const ref: { node?: RaftNode } = {};
const tlsDir = a["tls-dir"];
const identity = tlsDir
  ? new TlsIdentity({
    caPem: await Deno.readTextFile(join(tlsDir, "ca.pem")),
    certPem: await Deno.readTextFile(join(tlsDir, "cert.pem")),
    keyPem: await Deno.readTextFile(join(tlsDir, "key.pem")),
  })
  : undefined;
const raftServer = await startTlsRaftServer({
  address: `${raftAddr.hostname}:${raftAddr.port}`,
  identity,
  clusterId: CLUSTER_ID,
  selfId: id,
  onMessages: (from, msgs) => ref.node?.receive(msgs, from),
});
const address = `${raftAddr.hostname}:${raftServer.port}`;
const transport = new TlsRaftTransport({
  clusterId: CLUSTER_ID,
  selfId: id,
  identity,
  onUnreachable: (peer) => ref.node?.reportUnreachable(peer),
});
const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
if (a.bootstrap && fresh) {
  await RaftNode.bootstrap(storage, { id, address, stateMachine: sm });
}
const node = ref.node = new RaftNode({
  id,
  address,
  storage,
  transport,
  stateMachine: sm,
  peers: parsePeers(a.peers),
  tickMs: Number(a["tick-ms"]),
  core: { electionTicks: Number(a["election-ticks"]) },
  snapshotEveryEntries: Number(a["snapshot-every"]),
  requestTimeoutMs: Number(a["request-timeout-ms"]),
  onError: (err) => {
    // Failed sends to a dead peer are routine; anything else is worth a line on stderr.
    if (!(err instanceof Error && /UNAVAILABLE|DEADLINE/.test(err.message))) {
      console.error(`${id}: raft: ${err instanceof Error ? err.stack : err}`);
    }
  },
});
node.start();

const http = Deno.serve({
  hostname: clientAddr.hostname,
  port: clientAddr.port,
  onListen: () => {},
}, memberApi(node, sm, transport));

let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  return stopping ??= (async () => {
    await http.shutdown();
    await node.stop();
    transport.close();
    await raftServer.close();
    kv.close();
    Deno.exit(0);
  })();
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);

console.log(`ready raft=${address} client=${clientAddr.hostname}:${http.addr.port}`);
