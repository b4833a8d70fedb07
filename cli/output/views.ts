/**
 * Table views of the objects the client commands list: which columns, and how each cell reads.
 * @module
 */
import type { Event, Node, Port, Secret, Service, Task, Volume } from "../../proto/schema/mod.ts";
import { taskName } from "../../proto/schema/task.ts";
import type { TableView } from "./format.ts";
import { formatAgo } from "./human.ts";

/** Nodes; `leaderId` marks the Raft leader in the ROLE column. */
export function nodeView(opts: { leaderId?: string } = {}): TableView<Node> {
  return {
    headers: ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "ROLE", "ADDRESS", "VERSION"],
    row: (n) => [
      n.id,
      n.hostname,
      n.status.state,
      n.availability,
      n.id === opts.leaderId ? `${n.role} (leader)` : n.role,
      // The node's address for every role alike (a manager's API port is in `node inspect`).
      n.addresses.advertise,
      n.version,
    ],
    id: (n) => n.id,
  };
}

/** A service with the task counts `service ls` shows. */
export interface ServiceRow {
  service: Service;
  /** Tasks observed running. */
  running: number;
  /** Tasks that should be running (global services: one per eligible node). */
  desired: number;
}

/** `*:8080->80/tcp` (ingress), `8080->80/tcp (host)`, `80/tcp` (not published). */
export function formatPort(p: Port): string {
  if (p.published === undefined) return `${p.target}/${p.protocol}`;
  const mapping = `${p.published}->${p.target}/${p.protocol}`;
  return p.publishMode === "ingress" ? `*:${mapping}` : `${mapping} (host)`;
}

/** Services with running/desired replicas, like `docker service ls`. */
export function serviceView(): TableView<ServiceRow> {
  return {
    headers: ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"],
    row: ({ service: s, running, desired }) => [
      s.id,
      s.spec.name,
      s.spec.mode,
      `${running}/${s.spec.mode === "replicated" ? s.spec.replicas : desired}`,
      s.spec.image,
      s.spec.ports.map(formatPort).join(", "),
    ],
    id: (r) => r.service.id,
  };
}

/** Name lookups for the task table. */
export interface TaskNames {
  /** Service name by service ID. */
  service(id: string): string | undefined;
  /** Node host name by node ID. */
  node(id: string): string | undefined;
}

/** Tasks, like `docker service ps`. */
export function taskView(names: TaskNames, nowMs: number): TableView<Task> {
  return {
    headers: ["ID", "NAME", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR"],
    row: (t) => [
      t.id,
      taskName(names.service(t.serviceId) ?? t.serviceId, t),
      t.nodeId === undefined ? "" : names.node(t.nodeId) ?? t.nodeId,
      t.desiredState,
      `${t.status.state} ${formatAgo(t.status.timestamp, nowMs).toLowerCase()}`,
      oneLine(t.status.error ?? (t.status.state === "pending" ? t.status.message : "")),
    ],
    id: (t) => t.id,
  };
}

/** Secrets (metadata only). */
export function secretView(nowMs: number): TableView<Secret> {
  return {
    headers: ["ID", "NAME", "CREATED"],
    row: (s) => [s.id, s.name, formatAgo(s.createdAt, nowMs)],
    id: (s) => s.id,
  };
}

/** Volumes. */
export function volumeView(nowMs: number): TableView<Volume> {
  return {
    headers: ["ID", "NAME", "DRIVER", "NODE", "CREATED"],
    row: (v) => [v.id, v.name, v.driver, v.nodeId ?? "", formatAgo(v.createdAt, nowMs)],
    id: (v) => v.id,
  };
}

/** The object an event is about: its ID and a display name. */
export function eventSubject(ev: Event): { id: string; name: string } {
  switch (ev.kind) {
    case "node":
      return { id: ev.node.id, name: ev.node.hostname };
    case "service":
      return { id: ev.service.id, name: ev.service.spec.name };
    case "task":
      return { id: ev.task.id, name: ev.task.id };
    case "secret":
      return { id: ev.secret.id, name: ev.secret.name };
    case "volume":
      return { id: ev.volume.id, name: ev.volume.name };
  }
}

/** One event as a line: `2024-05-01T10:00:00.000Z  #42  service update  web (svc1)`. */
export function eventLine(ev: Event): string {
  const { id, name } = eventSubject(ev);
  const what = ev.kind === "task" ? `${ev.task.status.state}` : "";
  const subject = name === id ? id : `${name} (${id})`;
  return [
    new Date(ev.timestamp).toISOString(),
    `#${ev.index}`,
    `${ev.kind} ${ev.action}`,
    subject,
    what,
  ]
    .filter((s) => s !== "")
    .join("  ");
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}
