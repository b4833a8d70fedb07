import { deepEqual, equal, notEqual, ok, rejects } from "node:assert/strict";
import { generateKeyPair, loadOrCreateNodeKey, publicKeyOf } from "./keys.ts";
import { WireGuardKeySchema } from "../../proto/schema/node.ts";

async function wg(args: string[], stdin: string): Promise<string> {
  const p = new Deno.Command("wg", { args, stdin: "piped", stdout: "piped" }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  return new TextDecoder().decode((await p.output()).stdout).trim();
}

Deno.test("generated keys match `wg pubkey` and the schema", async () => {
  for (let i = 0; i < 5; i++) {
    const kp = await generateKeyPair();
    equal(await wg(["pubkey"], kp.privateKey + "\n"), kp.publicKey);
    ok(WireGuardKeySchema.safeParse(kp.publicKey).success, kp.publicKey);
    ok(WireGuardKeySchema.safeParse(kp.privateKey).success, kp.privateKey);
  }
});

Deno.test("publicKeyOf agrees with wg on keys from `wg genkey`", async () => {
  const priv = (new TextDecoder().decode(
    (await new Deno.Command("wg", { args: ["genkey"], stdout: "piped" }).output()).stdout,
  )).trim();
  equal(await publicKeyOf(priv), await wg(["pubkey"], priv + "\n"));
});

Deno.test("publicKeyOf refuses keys that are not 32 bytes", async () => {
  await rejects(() => publicKeyOf(btoa("short")), /32 bytes/);
});

Deno.test("node key is created 0600 once and reused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await loadOrCreateNodeKey(dir);
    const b = await loadOrCreateNodeKey(dir);
    deepEqual(a, b);
    equal((await Deno.stat(a.privateKeyPath)).mode! & 0o777, 0o600);
    equal((await Deno.stat(`${dir}/wireguard`)).mode! & 0o777, 0o700);
    await Deno.chmod(a.privateKeyPath, 0o644);
    await loadOrCreateNodeKey(dir);
    equal((await Deno.stat(a.privateKeyPath)).mode! & 0o777, 0o600);
    const other = await Deno.makeTempDir();
    try {
      notEqual((await loadOrCreateNodeKey(other)).publicKey, a.publicKey);
    } finally {
      await Deno.remove(other, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
