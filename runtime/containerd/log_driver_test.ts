import assert from "node:assert/strict";
import { installLogDriver, logDriverUri } from "./log_driver.ts";
import { readLogs } from "../log_reader.ts";

/**
 * Runs the driver as the shim does: stdout pipe on fd 3, stderr on fd 4, ready pipe on fd 5
 * (here fifos wired by bash), writes through them, and returns when the driver has exited.
 */
async function drive(
  driver: string,
  args: string[],
  dir: string,
  write: (out: Deno.FsFile, err: Deno.FsFile) => Promise<void>,
): Promise<void> {
  for (const f of ["o", "e"]) {
    await new Deno.Command("mkfifo", { args: [`${dir}/${f}`] }).output();
  }
  const child = new Deno.Command("bash", {
    args: ["-c", `exec "$0" "$@" 3<"${dir}/o" 4<"${dir}/e" 5>/dev/null`, driver, ...args],
  }).spawn();
  const [out, err] = await Promise.all([
    Deno.open(`${dir}/o`, { write: true }),
    Deno.open(`${dir}/e`, { write: true }),
  ]);
  await write(out, err);
  out.close();
  err.close();
  assert.equal((await child.status).code, 0);
}

const enc = new TextEncoder();

Deno.test("log driver: tags streams, splits long lines, keeps partial tails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const driver = await installLogDriver(`${dir}/bin`);
    assert.equal(await installLogDriver(`${dir}/bin`), driver, "reinstalling is a no-op");
    const log = `${dir}/c.log`;
    await drive(driver, ["path", log, "max", "1000000", "files", "2"], dir, async (out, err) => {
      await out.write(enc.encode("hello\n"));
      await err.write(enc.encode("oops\n"));
      await out.write(enc.encode(`${"x".repeat(20_000)}\nno newline at the end`));
    });
    const entries = [];
    for await (const e of readLogs(log, { maxFiles: 2 })) entries.push(e);
    const lines = entries.map((e) => `${e.stream}:${e.line.length > 40 ? e.line.length : e.line}`);
    assert.deepEqual(lines.sort(), [
      "stderr:oops",
      "stdout:20000",
      "stdout:hello",
      "stdout:no newline at the end",
    ]);
    assert.ok(entries.every((e) => Math.abs(e.ts.getTime() - Date.now()) < 60_000));
    for (const line of (await Deno.readTextFile(log)).trimEnd().split("\n")) {
      assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] /);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log driver: rotates at the size cap and keeps `files` files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const driver = await installLogDriver(`${dir}/bin`);
    const log = `${dir}/c.log`;
    await drive(driver, ["files", "3", "max", "2000", "path", log], dir, async (out) => {
      for (let i = 0; i < 200; i++) await out.write(enc.encode(`line ${i}\n`));
    });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("c."));
    assert.deepEqual(names.sort(), ["c.log", "c.log.1", "c.log.2"]);
    for (const n of names) assert.ok(Deno.statSync(`${dir}/${n}`).size < 2100, n);
    const lines = [];
    for await (const e of readLogs(log, { maxFiles: 3 })) lines.push(e.line);
    assert.equal(lines.at(-1), "line 199");
    const first = Number(lines[0].split(" ")[1]);
    assert.deepEqual(lines, Array.from({ length: 200 - first }, (_, i) => `line ${first + i}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log driver: compiles cleanly under strict and warnings", async () => {
  // The driver does not load strict and warnings (start-up time); this holds it to them.
  const dir = await Deno.makeTempDir();
  try {
    const driver = await installLogDriver(dir);
    const out = await new Deno.Command("perl", {
      args: ["-Mstrict", "-Mwarnings=FATAL,all", "-c", driver],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, said);
    assert.equal(said.trim(), `${driver} syntax OK`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log driver: the URI carries path and rotation settings", () => {
  const uri = logDriverUri("/var/lib/warren/bin/warren-log-driver", {
    path: "/var/lib/warren/logs/t 1/container.log",
    maxFileBytes: 100,
    maxFiles: 3,
  });
  const u = new URL(uri);
  assert.equal(u.protocol, "binary:");
  assert.equal(u.pathname, "/var/lib/warren/bin/warren-log-driver");
  assert.equal(u.searchParams.get("path"), "/var/lib/warren/logs/t 1/container.log");
  assert.equal(u.searchParams.get("max"), "100");
  assert.equal(u.searchParams.get("files"), "3");
});
