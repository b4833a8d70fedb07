/** Running the host's mount tools. */
import { WarrenError } from "../../proto/errors.ts";

/** Runs `cmd args` (in `cwd` when given); @throws WarrenError `internal` with its stderr on failure. */
export async function runCommand(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "null",
    stderr: "piped",
    ...(cwd ? { cwd } : {}),
  }).output();
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim();
    throw new WarrenError("internal", `${cmd} ${args.join(" ")} failed: ${msg}`);
  }
}
