import assert from "node:assert/strict";
import { invocationDir } from "./invocation_dir.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const DENO_TASK = "deno/2.9.6 npm/? deno/2.9.6 linux x86_64";

Deno.test("invocation dir: under deno task, relative paths are the user's, not the checkout's", () => {
  assert.equal(
    invocationDir(
      envOf({ INIT_CWD: "/home/pi/stacks", npm_config_user_agent: DENO_TASK }),
      "/opt/warren",
    ),
    "/home/pi/stacks",
  );
  // Already there.
  assert.equal(
    invocationDir(
      envOf({ INIT_CWD: "/opt/warren", npm_config_user_agent: DENO_TASK }),
      "/opt/warren",
    ),
    undefined,
  );
  // npm's INIT_CWD: its scripts may change directory on purpose.
  assert.equal(
    invocationDir(
      envOf({ INIT_CWD: "/home/pi", npm_config_user_agent: "npm/10.9.2 node/v22" }),
      "/x",
    ),
    undefined,
  );
  // deno run, or the compiled binary.
  assert.equal(invocationDir(envOf({}), "/x"), undefined);
});
