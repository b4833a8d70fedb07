/**
 * The transcript file format (after etcd's datadriven): blocks of comment lines, one command line,
 * a `----` separator and the expected output, separated by blank lines. Command arguments are
 * positional words or `key=value` / `key=(a,b,c)`.
 * @module
 */

/** One command of a transcript file. */
export interface TranscriptCase {
  /** Comment lines before the command, kept when rewriting. */
  comments: string[];
  command: string;
  args: Args;
  /** The raw command line. */
  line: string;
  expected: string;
  /** 1-based line number of the command. */
  lineNo: number;
}

/** Parsed arguments of a command. */
export interface Args {
  pos: string[];
  kv: Map<string, string[]>;
}

/** Parses a transcript file. Throws on a malformed one. */
export function parseTranscript(
  text: string,
  file: string,
): { cases: TranscriptCase[]; trailer: string[] } {
  const lines = text.split("\n");
  const cases: TranscriptCase[] = [];
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (l.trim() === "") {
      i++;
      continue;
    }
    if (l.startsWith("#")) {
      comments.push(l);
      i++;
      continue;
    }
    const lineNo = i + 1;
    if (lines[i + 1] !== "----") {
      throw new Error(`${file}:${lineNo + 1}: expected "----" after the command`);
    }
    i += 2;
    const expected: string[] = [];
    while (i < lines.length && lines[i].trim() !== "") expected.push(lines[i++]);
    const { command, args } = parseCommandLine(l);
    cases.push({ comments, command, args, line: l, expected: expected.join("\n"), lineNo });
    comments = [];
  }
  return { cases, trailer: comments };
}

/** Splits `cmd a b k=v k=(x,y)` into the command and its arguments. */
export function parseCommandLine(line: string): { command: string; args: Args } {
  const tokens = line.trim().match(/\S+=\([^)]*\)|\S+/g) ?? [];
  const [command, ...rest] = tokens;
  const args: Args = { pos: [], kv: new Map() };
  for (const t of rest) {
    const eq = t.indexOf("=");
    if (eq < 0) {
      args.pos.push(t);
      continue;
    }
    const key = t.slice(0, eq);
    let val = t.slice(eq + 1);
    if (val.startsWith("(") && val.endsWith(")")) val = val.slice(1, -1);
    args.kv.set(key, val === "" ? [] : val.split(",").map((s) => s.trim()));
  }
  return { command: command ?? "", args };
}

/** Renders cases back into a transcript file with the given outputs. */
export function renderTranscript(
  cases: TranscriptCase[],
  outputs: string[],
  trailer: string[],
): string {
  const blocks = cases.map((c, i) => [...c.comments, c.line, "----", outputs[i]].join("\n"));
  if (trailer.length) blocks.push(trailer.join("\n"));
  return blocks.join("\n\n") + "\n";
}

/** The single value of `key`, or `def`. */
export function argOne(args: Args, key: string, def?: string): string | undefined {
  const v = args.kv.get(key);
  if (v === undefined) return def;
  if (v.length !== 1) throw new Error(`${key}= takes one value`);
  return v[0];
}

/** The integer value of `key`, or `def`. */
export function argInt(args: Args, key: string, def?: number): number | undefined {
  const v = argOne(args, key);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${key}= must be an integer, got ${v}`);
  return n;
}

/** The boolean value of `key`, or `def`. */
export function argBool(args: Args, key: string, def: boolean): boolean {
  const v = argOne(args, key);
  if (v === undefined) return def;
  if (v !== "true" && v !== "false") throw new Error(`${key}= must be true or false, got ${v}`);
  return v === "true";
}

/** The first positional argument as a node ID. */
export function argNode(args: Args, i = 0): string {
  const v = args.pos[i];
  if (v === undefined) throw new Error(`missing node ID argument #${i + 1}`);
  return v;
}
