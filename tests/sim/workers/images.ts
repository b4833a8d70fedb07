/**
 * The fake images simulated workers can run (the {@link FakeRuntime}'s "registry"): a server that
 * runs until signalled (or, like busybox httpd as PID 1, ignores SIGTERM and runs until killed), a job whose exit code and run time come from its environment, and a
 * broken release that exits 1 shortly after it starts (for rolling-update failure tests).
 * @module
 */
import type { FakeImage } from "../../../runtime/fake.ts";

/** Image references of the simulated registry. */
export const SIM_IMAGES = {
  /** Runs until signalled. */
  web: "fake.local/sim/web:v1",
  /** A second good version of web (rolling updates). */
  webV2: "fake.local/sim/web:v2",
  /** web that ignores SIGTERM: it stops only when killed at the end of its stop grace period. */
  webStubborn: "fake.local/sim/web:stubborn",
  /** A bad release of web: exits 1 after 50 ms. */
  webBroken: "fake.local/sim/web:broken",
  /** Exits with `SIM_EXIT_CODE` (default 1) after `SIM_RUN_MS` (default 50) ms. */
  job: "fake.local/sim/job:v1",
} as const;

/** The images, as {@link FakeRuntime} takes them. */
export function simImages(): FakeImage[] {
  return [
    { ref: SIM_IMAGES.web, config: { cmd: ["httpd", "-f"] } },
    { ref: SIM_IMAGES.webV2, config: { cmd: ["httpd", "-f"] } },
    {
      ref: SIM_IMAGES.webStubborn,
      config: { cmd: ["httpd", "-f"] },
      behavior: { ignoreSignals: [15] },
    },
    {
      ref: SIM_IMAGES.webBroken,
      config: { cmd: ["httpd", "-f"] },
      behavior: { exitAfterMs: 50, exitCode: 1 },
    },
    {
      ref: SIM_IMAGES.job,
      config: { cmd: ["job"] },
      behavior: ({ env }) => ({
        exitAfterMs: Number(env.get("SIM_RUN_MS") ?? 50),
        exitCode: Number(env.get("SIM_EXIT_CODE") ?? 1),
      }),
    },
  ];
}
