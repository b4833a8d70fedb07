/**
 * What /proc says about a process: resident memory and CPU time, for the suites' metrics.
 * @module
 */

/** VmRSS of `pid` from /proc/PID/status, in MiB. */
export async function rssMib(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

/** CPU time (user + system) `pid` has used so far, in seconds, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerS = 100; // USER_HZ on Linux
  return (Number(f[11]) + Number(f[12])) / ticksPerS;
}
