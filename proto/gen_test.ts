/**
 * CI's guard that the committed generated code matches proto/warren.proto: regenerates into a
 * temporary directory with tools/proto_warren.sh and compares byte for byte.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;
const committedDir = `${root}proto/gen`;

async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".ts")) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("proto/gen is up to date with proto/warren.proto (run `deno task proto`)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "warren-proto-gen-" });
  try {
    const { code, stderr } = await new Deno.Command("bash", {
      args: [`${root}tools/proto_warren.sh`, tmp],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, `proto_warren.sh failed:\n${new TextDecoder().decode(stderr)}`);
    const generated = await listFiles(tmp);
    assert.ok(generated.includes("warren.ts"), `no warren.ts generated; got ${generated}`);
    assert.deepEqual(await listFiles(committedDir), generated, "generated file set differs");
    for (const name of generated) {
      const fresh = await Deno.readTextFile(`${tmp}/${name}`);
      const committed = await Deno.readTextFile(`${committedDir}/${name}`);
      assert.ok(
        fresh === committed,
        `proto/gen/${name} is stale: run \`deno task proto\` and commit the result`,
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("generated int64 decoding: exact below 2^53, refused above (tools/proto_warren.sh patch)", async () => {
  const { BinaryWriter } = await import("@bufbuild/protobuf/wire");
  const w = await import("./gen/warren.ts");
  for (const at of [0, 1, 1_795_741_525_437, Number.MAX_SAFE_INTEGER, -5_000]) {
    const bytes = w.Service.encode(w.Service.fromPartial({ createdAt: at, specVersion: 7 }))
      .finish();
    const back = w.Service.decode(bytes);
    assert.equal(back.createdAt, at);
    assert.equal(back.specVersion, 7);
  }
  // created_at = 7 (int64), spec_version = 4 (uint64): one past the safe range each.
  const big = new BinaryWriter().uint32((7 << 3) | 0).int64("9007199254740992").finish();
  assert.throws(() => w.Service.decode(big), /larger than Number.MAX_SAFE_INTEGER/);
  const bigU = new BinaryWriter().uint32((4 << 3) | 0).uint64("18446744073709551615").finish();
  assert.throws(() => w.Service.decode(bigU), /larger than Number.MAX_SAFE_INTEGER/);
  const small = new BinaryWriter().uint32((7 << 3) | 0).int64("-9007199254740992").finish();
  assert.throws(() => w.Service.decode(small), /smaller than Number.MIN_SAFE_INTEGER/);
});
