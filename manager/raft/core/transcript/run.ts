/**
 * Runs a transcript: each command against one {@link Env}, producing its output text.
 * @module
 */
import { addNodes } from "./commands/add_nodes.ts";
import { appState } from "./commands/app_state.ts";
import { campaign } from "./commands/campaign.ts";
import { compact } from "./commands/compact.ts";
import { deliverMsgs } from "./commands/deliver_msgs.ts";
import { heal, partition } from "./commands/partition.ts";
import { processReady } from "./commands/process_ready.ts";
import { propose } from "./commands/propose.ts";
import { proposeConfChange } from "./commands/propose_conf_change.ts";
import { raftLog } from "./commands/raft_log.ts";
import { raftState } from "./commands/raft_state.ts";
import { readIndex } from "./commands/read_index.ts";
import { reportUnreachable } from "./commands/report_unreachable.ts";
import { restart } from "./commands/restart.ts";
import { stabilize } from "./commands/stabilize.ts";
import { status } from "./commands/status.ts";
import { tick } from "./commands/tick.ts";
import { tickElection } from "./commands/tick_election.ts";
import { tickHeartbeat } from "./commands/tick_heartbeat.ts";
import { transferLeadership } from "./commands/transfer_leadership.ts";
import { Env } from "./env.ts";
import type { Args, TranscriptCase } from "./parse.ts";

/** A command handler: acts on the environment and writes its output to `env.out`. */
export type CommandHandler = (env: Env, args: Args) => void;

/** Every transcript command. */
export const COMMANDS: Record<string, CommandHandler> = {
  "add-nodes": addNodes,
  "app-state": appState,
  campaign,
  compact,
  "deliver-msgs": deliverMsgs,
  heal,
  partition,
  "process-ready": processReady,
  propose,
  "propose-conf-change": proposeConfChange,
  "raft-log": raftLog,
  "raft-state": raftState,
  "read-index": readIndex,
  "report-unreachable": reportUnreachable,
  restart,
  stabilize,
  status,
  tick,
  "tick-election": tickElection,
  "tick-heartbeat": tickHeartbeat,
  "transfer-leadership": transferLeadership,
};

/** Runs the cases in order on a fresh environment; returns each one's output ("ok" if none). */
export function runTranscript(cases: TranscriptCase[], file: string): string[] {
  const env = new Env();
  return cases.map((c) => {
    const handler = COMMANDS[c.command];
    if (!handler) throw new Error(`${file}:${c.lineNo}: unknown command "${c.command}"`);
    try {
      handler(env, c.args);
    } catch (err) {
      throw new Error(`${file}:${c.lineNo}: ${c.line}: ${(err as Error).message}`, { cause: err });
    }
    return env.takeOutput() || "ok";
  });
}
