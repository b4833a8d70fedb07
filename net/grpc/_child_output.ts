/**
 * A fixture process for the gRPC tests that must survive a crash of the code under test (it
 * aborts inside nghttp2, so it runs apart from the test runner), with its stdout read as it
 * comes.
 * @module
 */

/** The child and what it printed so far. */
export interface ChildOutput {
  child: Deno.ChildProcess;
  /** Everything read from stdout so far. */
  readonly out: string;
  /** Reads stdout until what was read matches `re` (or stdout ends); returns the match. */
  until(re: RegExp): Promise<RegExpExecArray | null>;
  /** Reads stdout to its end. */
  rest(): Promise<string>;
}

/** Spawns `deno ARGS...` with stdin, stdout and stderr piped. */
export function spawnChild(args: string[]): ChildOutput {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const read = async (stop: () => boolean) => {
    while (!stop()) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
  };
  return {
    child,
    get out() {
      return out;
    },
    until: async (re) => {
      await read(() => re.test(out));
      return re.exec(out);
    },
    rest: async () => {
      await read(() => false);
      return out;
    },
  };
}
