/**
 * Issue 5's negative tests on real sockets against a manager with mutual TLS: every bad
 * credential is refused with the right status and a clear message, and state is unchanged.
 * Also: no secret plaintext anywhere under the data directory, and certificates renew while
 * connections keep working.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Metadata, type ServiceError, status as Status } from "@grpc/grpc-js";
import { Manager } from "../../manager/manager.ts";
import { WarrenClient } from "../../net/client/client.ts";
import {
  channelCredentials,
  channelOptionsFor,
  MANAGER_SERVER_NAME,
  type TlsMaterial,
} from "../../net/grpc/tls.ts";
import { startRenewal } from "../../net/grpc/renewal.ts";
import { TlsIdentity } from "../../net/grpc/tls.ts";
import * as wire from "../../proto/gen/warren.ts";
import { codecs } from "../../proto/convert.ts";
import {
  createCsr,
  createRootCa,
  exportKeyPem,
  generateKeyPair,
  generateToken,
  signCsr,
} from "../../manager/security/mod.ts";
import { joinViaManager } from "../../cli/daemon/join_flow.ts";
import { configureLogging } from "../../proto/log.ts";
import { VERSION } from "../../proto/version.ts";

configureLogging({ level: "error" });

const details = (hostname: string) => ({
  hostname,
  addresses: { advertise: "127.0.0.1" },
  resources: { nanoCpus: 1e9, memoryBytes: 1e9 },
  platform: { os: "linux", arch: "amd64" as const },
  labels: {},
  version: VERSION,
});

async function withManager(fn: (mgr: Manager, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-sec-" });
  const mgr = await Manager.start({
    dataDir: join(dir, "m1"),
    apiAddr: "127.0.0.1:0",
    raftAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    advertiseAddr: "127.0.0.1",
    init: { clusterName: "sec" },
    tickMs: 10,
    dispatcher: { heartbeatPeriodMs: 500, batchMs: 5 },
  });
  try {
    await fn(mgr, dir);
  } finally {
    await mgr.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function clientWith(mgr: Manager, m: TlsMaterial): WarrenClient {
  return new WarrenClient({
    managers: [mgr.apiAddress],
    credentials: channelCredentials(m),
    channelOptions: channelOptionsFor(MANAGER_SERVER_NAME),
    callTimeoutMs: 3000,
    maxAttempts: 1,
  });
}

async function adminMaterial(mgr: Manager): Promise<Required<TlsMaterial>> {
  const a = await mgr.issueAdminCertificate("admin");
  return { caPem: a.caPem, certPem: a.certPem, keyPem: a.keyPem };
}

Deno.test("security: bad credentials are refused with clear statuses and change nothing", async () => {
  await withManager(async (mgr) => {
    const admin = await adminMaterial(mgr);
    using ok = clientWith(mgr, admin);
    await ok.services.create({ name: "web", image: "registry.local/web:1" });
    const before = (await ok.services.list()).services.length;
    const caPem = admin.caPem;

    // 1. No client certificate: the connection is allowed (joins need it), the call is not.
    using anon = clientWith(mgr, { caPem });
    await assert.rejects(
      () => anon.services.list(),
      (e: Error & { code?: string }) =>
        e.code === "unauthenticated" && /requires a client certificate/.test(e.message),
    );
    await assert.rejects(
      () => anon.services.create({ name: "evil", image: "x:1" }),
      /requires a client certificate/,
    );

    // 2. A certificate from another CA.
    const other = await createRootCa({
      clusterId: "other",
      lifetimeMs: 86_400_000,
      now: Date.now(),
    });
    const kp = await generateKeyPair();
    const foreign = await signCsr({
      ca: other,
      csrPem: await createCsr({ keyPair: kp }),
      nodeId: "intruder",
      role: "admin",
      lifetimeMs: 86_400_000,
      sans: [],
      now: Date.now(),
    });
    using alien = clientWith(mgr, {
      caPem,
      certPem: foreign,
      keyPem: await exportKeyPem(kp.privateKey),
    });
    // The API port admits certificate-less joiners, so TLS leaves an unverified certificate
    // without identity and the call is refused as unauthenticated.
    await assert.rejects(
      () => alien.services.create({ name: "evil", image: "x:1" }),
      (e: Error & { code?: string }) =>
        e.code === "unauthenticated" && /client certificate from this cluster's CA/.test(e.message),
    );

    // 3. An expired certificate of this cluster's CA.
    const keys = await mgr.ctx.keys();
    const kp2 = await generateKeyPair();
    const expired = await signCsr({
      ca: keys.ca,
      csrPem: await createCsr({ keyPair: kp2 }),
      nodeId: "old-admin",
      role: "admin",
      lifetimeMs: 60_000,
      sans: [],
      now: Date.now() - 3_600_000,
    });
    using stale = clientWith(mgr, {
      caPem,
      certPem: expired,
      keyPem: await exportKeyPem(kp2.privateKey),
    });
    await assert.rejects(
      () => stale.services.create({ name: "evil", image: "x:1" }),
      (e: Error & { code?: string }) =>
        e.code === "unauthenticated" && /requires a client certificate/.test(e.message),
    );

    // 4. A worker certificate calling an admin method.
    const workerToken = (await ok.cluster.joinToken("worker")).token;
    const w1 = await joinViaManager(mgr.apiAddress, workerToken, details("edge-1"));
    const w2 = await joinViaManager(mgr.apiAddress, workerToken, details("edge-2"));
    const workerTls = { caPem, certPem: w1.response.certificatePem, keyPem: w1.keyPem };
    using asWorker = clientWith(mgr, workerTls);
    await assert.rejects(
      () => asWorker.services.create({ name: "evil", image: "x:1" }),
      (e: Error & { code?: string }) =>
        e.code === "permission_denied" &&
        /role worker may not call ServiceService\/Create/.test(e.message),
    );

    // 5. A worker reporting status for another node.
    const wc = new wire.WorkerServiceClient(
      mgr.apiAddress,
      channelCredentials(workerTls),
      channelOptionsFor(MANAGER_SERVER_NAME),
    );
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        wc.reportStatus(
          codecs.ReportStatusRequest.toWire({
            nodeId: w2.response.nodeId,
            sessionId: "s",
            updates: [],
          }),
          new Metadata(),
          (e) => resolve(e),
        )
      );
      assert.equal(err?.code, Status.PERMISSION_DENIED);
      assert.match(
        err!.details,
        new RegExp(
          `node ${w1.response.nodeId} may not call WorkerService/ReportStatus for node ${w2.response.nodeId}`,
        ),
      );
    } finally {
      wc.close();
    }

    // 6. A rotated (old) token.
    const nodesBefore = (await ok.nodes.list()).nodes.length;
    await ok.cluster.joinToken("worker", true);
    await assert.rejects(
      () => joinViaManager(mgr.apiAddress, workerToken, details("late")),
      (e: Error & { code?: string }) =>
        e.code === "unauthenticated" && /rotated or is invalid/.test(e.message),
    );

    // 7. A token naming another CA: the joiner refuses the manager before sending anything.
    const wrongCa = generateToken({ caDigest: "ab".repeat(32), role: "worker" });
    await assert.rejects(
      () => joinViaManager(mgr.apiAddress, wrongCa, details("mitm")),
      /does not serve the CA named by the join token/,
    );

    assert.equal((await ok.nodes.list()).nodes.length, nodesBefore, "refused joins add no node");
    assert.equal(
      (await ok.services.list()).services.length,
      before,
      "refused calls create nothing",
    );
  });
});

Deno.test("security: no secret plaintext under the data directory (KV files and Raft log)", async () => {
  await withManager(async (mgr, dir) => {
    using ok = clientWith(mgr, await adminMaterial(mgr));
    const plaintext = `plaintext-${crypto.randomUUID()}`;
    await ok.secrets.create({ name: "db-pass", data: new TextEncoder().encode(plaintext) });
    await ok.secrets.update("db-pass", { data: new TextEncoder().encode(plaintext + "-v2") });
    for (let i = 0; i < 20; i++) {
      await ok.services.create({ name: `s${i}`, image: "registry.local/a:1" });
    }
    await mgr.stop(); // flush and close the KV files
    const needle = new TextEncoder().encode(plaintext);
    const b64 = new TextEncoder().encode(btoa(plaintext).slice(0, 24));
    // Control: what is not secret (an image name) is found, so the search does see the log.
    const control = new TextEncoder().encode("registry.local/a:1");
    let controlFound = false;
    for await (const file of walk(dir)) {
      const bytes = await Deno.readFile(file);
      if (indexOf(bytes, control) >= 0) controlFound = true;
      assert.equal(indexOf(bytes, needle), -1, `${file} holds the secret's plaintext`);
      assert.equal(indexOf(bytes, b64), -1, `${file} holds the secret's plaintext in base64`);
    }
    assert.ok(controlFound, "the control string was not found: the search reads nothing");
  });
});

Deno.test("security: connections keep working across certificate renewals", async () => {
  await withManager(async (mgr) => {
    const keys = await mgr.ctx.keys();
    // An admin identity renewed by the same mechanism nodes use; the renewal clock runs ahead
    // so that every certificate is due at once: renewals happen back to back while calls go on.
    const issue = async (): Promise<Required<TlsMaterial>> => {
      const kp = await generateKeyPair();
      const certPem = await signCsr({
        ca: keys.ca,
        csrPem: await createCsr({ keyPair: kp }),
        nodeId: "renewing-admin",
        role: "admin",
        lifetimeMs: 10 * 60_000,
        sans: [],
        now: Date.now(),
      });
      return { caPem: keys.ca.certPem, certPem, keyPem: await exportKeyPem(kp.privateKey) };
    };
    const identity = new TlsIdentity(await issue());
    let renewals = 0;
    const stop = startRenewal({
      identity,
      renew: issue,
      onRenewed: () => renewals++,
      retryMs: 100,
      now: () => Date.now() + 10 * 60_000,
    });
    const c = new WarrenClient({
      managers: [mgr.apiAddress],
      credentials: channelCredentials(identity),
      channelOptions: channelOptionsFor(MANAGER_SERVER_NAME),
      callTimeoutMs: 3000,
    });
    try {
      const deadline = Date.now() + 20_000;
      let calls = 0;
      while (renewals < 5 || calls < 10) {
        assert.ok(Date.now() < deadline, `only ${renewals} renewals in 20 s`);
        await c.services.list();
        calls++;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      stop();
      c.close();
    }
  });
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
