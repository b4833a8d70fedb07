/**
 * Architecture rules of ../shared/ARCHITECTURE.md, checked over the real module graph that
 * `deno info --json` reports, plus a source scan of the pure cores for clocks, timers, randomness
 * and I/O. `tests/arch_test.ts` runs it on this repository and on a planted violation.
 * @module
 */
import { join, relative } from "node:path";

/** One import edge that breaks a rule, or one forbidden construct in a pure file. */
export interface Violation {
  rule: string;
  file: string;
  detail: string;
}

/** A directory-level dependency rule over direct import edges (paths relative to the root). */
interface EdgeRule {
  name: string;
  applies: (file: string) => boolean;
  /** Returns why the edge is forbidden, or undefined when it is allowed. */
  forbids: (dep: Dep) => string | undefined;
}

/** A dependency of a file: a repository file (relative path), an npm package or a builtin. */
type Dep = { kind: "local"; path: string } | { kind: "npm"; name: string } | {
  kind: "other";
  specifier: string;
};

const under = (dir: string) => (p: string) => p.startsWith(dir);
const isTest = (p: string) => /_test\.ts$/.test(p) || p.startsWith("tests/");

/** Files that must stay pure: no clock, timers, randomness, Deno or I/O. */
export const isPure = (p: string): boolean =>
  !isTest(p) &&
  (under("manager/raft/core/")(p) || under("manager/scheduler/")(p) ||
    p.startsWith("manager/state/fsm") || p === "manager/state/commands.ts");

/** npm packages a pure core may use: pure data-validation only. */
const PURE_NPM = new Set(["zod"]);

const RULES: EdgeRule[] = [
  {
    name: "proto-is-a-leaf",
    applies: (p) => under("proto/")(p) && !isTest(p),
    forbids: (d) =>
      d.kind === "local" && !under("proto/")(d.path)
        ? `proto/ imports nothing else from Warren, but imports ${d.path}`
        : undefined,
  },
  {
    name: "pure-core",
    applies: isPure,
    forbids: (d) => {
      if (d.kind === "local") {
        return isPure(d.path) || under("proto/")(d.path)
          ? undefined
          : `a pure core may import only pure cores and proto/, not ${d.path}`;
      }
      if (d.kind === "npm") {
        return PURE_NPM.has(d.name) ? undefined : `a pure core may not import npm:${d.name}`;
      }
      return `a pure core may not import ${d.specifier}`;
    },
  },
  {
    name: "worker-uses-runtime-interface",
    applies: (p) => under("worker/")(p) && !isTest(p),
    forbids: (d) =>
      d.kind === "local" && under("runtime/containerd/")(d.path)
        ? `worker/ uses runtime/runtime.ts, never ${d.path}`
        : undefined,
  },
  {
    name: "net-knows-no-manager-or-worker",
    applies: (p) => under("net/")(p) && !isTest(p),
    forbids: (d) =>
      d.kind === "local" && (under("manager/")(d.path) || under("worker/")(d.path))
        ? `net/ is handed handlers; it never imports ${d.path}`
        : undefined,
  },
  {
    name: "cli-clients-use-net-and-proto",
    applies: (p) =>
      under("cli/")(p) && !under("cli/daemon/")(p) && !isTest(p) &&
      p !== "cli/program.ts",
    forbids: (d) =>
      d.kind === "local" &&
        !(under("cli/")(d.path) || under("net/")(d.path) || under("proto/")(d.path))
        ? `client commands use only net/ clients and proto/, not ${d.path} (daemons live in cli/daemon/)`
        : undefined,
  },
  {
    name: "production-never-imports-tests",
    applies: (p) => !isTest(p),
    forbids: (d) =>
      d.kind === "local" && isTest(d.path)
        ? `production code never imports test code (${d.path})`
        : undefined,
  },
];

/** Constructs a pure file may not contain (checked with comments stripped). */
const IMPURE_PATTERNS: [RegExp, string][] = [
  [/\bDeno\s*\./, "Deno.* (I/O)"],
  [/\bDate\.now\b/, "Date.now (inject time)"],
  [/\bnew\s+Date\s*\(/, "new Date() (inject time)"],
  [/\bperformance\s*\.\s*now\b/, "performance.now (inject time)"],
  [/\bMath\.random\b/, "Math.random (inject a seeded PRNG)"],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, "timers (use logical ticks)"],
  [/\bfetch\s*\(/, "fetch (I/O)"],
  [/\bcrypto\s*\.\s*(getRandomValues|randomUUID)\b/, "crypto randomness (inject a seeded PRNG)"],
];

/** Removes comments so that prose mentioning Date.now does not count. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Lists the TypeScript files below `root` (relative paths), skipping build and generated output. */
export async function listSources(root: string): Promise<string[]> {
  const out: string[] = [];
  const skip = new Set(["dist", "node_modules", ".git", ".warren-data"]);
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(join(root, dir))) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory && !skip.has(e.name)) await walk(rel);
      else if (e.isFile && /\.(ts|tsx)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(rel);
    }
  }
  await walk("");
  return out.sort();
}

function classify(root: string, specifier: string): Dep {
  if (specifier.startsWith("file://")) {
    return { kind: "local", path: relative(root, new URL(specifier).pathname) };
  }
  const npm = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)/.exec(specifier);
  if (npm) return { kind: "npm", name: npm[1] };
  return { kind: "other", specifier };
}

/** Reads the direct dependencies of every file from one `deno info --json` over all of them. */
async function moduleGraph(root: string, files: string[]): Promise<Map<string, Dep[]>> {
  const tmp = await Deno.makeTempDir({ prefix: "warren-arch-" });
  try {
    const entry = join(tmp, "all.ts");
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import "${new URL(`file://${join(root, f)}`).href}";`).join("\n"),
    );
    const args = ["info", "--json", "--quiet"];
    try {
      await Deno.stat(join(root, "deno.json"));
      args.push("--config", join(root, "deno.json"));
    } catch { /* a tree without deno.json */ }
    const res = await new Deno.Command(Deno.execPath(), {
      args: [...args, entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!res.success) throw new Error(`deno info failed: ${new TextDecoder().decode(res.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(res.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    const graph = new Map<string, Dep[]>();
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file://")) continue;
      const path = relative(root, new URL(m.specifier).pathname);
      if (path.startsWith("..")) continue;
      const deps: Dep[] = [];
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          if (s) deps.push(classify(root, s));
        }
      }
      graph.set(path, deps);
    }
    return graph;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Checks every rule over the tree at `root` and returns the violations (empty when clean). */
export async function checkArchitecture(root: string): Promise<Violation[]> {
  const files = await listSources(root);
  const graph = await moduleGraph(root, files);
  const violations: Violation[] = [];
  for (const [file, deps] of graph) {
    for (const rule of RULES) {
      if (!rule.applies(file)) continue;
      for (const dep of deps) {
        const why = rule.forbids(dep);
        if (why) violations.push({ rule: rule.name, file, detail: why });
      }
    }
  }
  for (const file of files.filter(isPure)) {
    const src = stripComments(await Deno.readTextFile(join(root, file)));
    for (const [re, what] of IMPURE_PATTERNS) {
      if (re.test(src)) violations.push({ rule: "pure-core", file, detail: `uses ${what}` });
    }
  }
  return violations;
}
