/**
 * Placement constraints (`node.labels.zone==edge`, `node.role!=manager`) and spread preferences
 * (`node.labels.zone`), with Swarm's syntax. The scheduler matches the parsed form; the schema
 * rejects malformed strings up front so a typo never silently matches nothing.
 */
import { z } from "zod";

/** The node attributes a constraint may test. */
export type ConstraintAttribute =
  | "node.id"
  | "node.hostname"
  | "node.role"
  | "node.platform.os"
  | "node.platform.arch"
  | "node.labels";

/** A parsed constraint. */
export interface Constraint {
  /** The node attribute tested. */
  attribute: ConstraintAttribute;
  /** For `node.labels`, the label key; otherwise undefined. */
  label?: string;
  /** `==` matches equal values, `!=` different (or absent) ones. */
  operator: "==" | "!=";
  /** The value compared with, exactly as written (trimmed). */
  value: string;
}

const ATTRIBUTES: readonly ConstraintAttribute[] = [
  "node.id",
  "node.hostname",
  "node.role",
  "node.platform.os",
  "node.platform.arch",
];
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;
const VALUE = /^[A-Za-z0-9._/:*-]{1,256}$/;

/** Most constraints one service may carry. */
export const MAX_CONSTRAINTS = 32;

/** Parses one constraint; returns a reason string when malformed. */
export function parseConstraint(text: string): Constraint | string {
  if (text.length > 512) return "must be at most 512 characters";
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(text);
  if (!m) return `"${text}" must look like node.labels.KEY==VALUE or node.role!=manager`;
  const [, key, operator, value] = m as unknown as [string, string, "==" | "!=", string];
  if (!VALUE.test(value)) {
    return `"${text}" has a malformed value: 1-256 of letters, digits and . _ / : * -`;
  }
  // As in Swarm, attribute names and values are not case-sensitive (label keys are).
  if (key.toLowerCase().startsWith("node.labels.")) {
    const label = key.slice("node.labels.".length);
    if (!LABEL_KEY.test(label)) return `"${text}" has a malformed label key "${label}"`;
    return { attribute: "node.labels", label, operator, value };
  }
  const attribute = ATTRIBUTES.find((a) => a === key.toLowerCase());
  if (attribute === undefined) {
    return `"${text}" tests unknown attribute "${key}"; known: ${
      ATTRIBUTES.join(", ")
    }, node.labels.KEY`;
  }
  const role = value.toLowerCase();
  if (attribute === "node.role" && role !== "manager" && role !== "worker") {
    return `"${text}": node.role is manager or worker`;
  }
  return { attribute, operator, value };
}

/** Formats a parsed constraint back into its canonical text. */
export function formatConstraint(c: Constraint): string {
  const key = c.attribute === "node.labels" ? `node.labels.${c.label}` : c.attribute;
  return `${key}${c.operator}${c.value}`;
}

/** A constraint string, validated with {@link parseConstraint}. */
export const ConstraintSchema = z.string().superRefine((value, ctx) => {
  const parsed = parseConstraint(value);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});

/** Parses a spread preference `node.labels.KEY`; returns the label key or a reason string. */
export function parseSpread(text: string): { label: string } | string {
  if (!text.startsWith("node.labels.")) return `"${text}" must be node.labels.KEY`;
  const label = text.slice("node.labels.".length);
  if (!LABEL_KEY.test(label)) return `"${text}" has a malformed label key "${label}"`;
  return { label };
}

/** A placement preference: spread tasks evenly over the values of a node label. */
export const PlacementPreferenceSchema = z.strictObject({
  /** `node.labels.KEY`: tasks are spread evenly over the distinct values of that label. */
  spread: z.string().max(200).superRefine((value, ctx) => {
    const parsed = parseSpread(value);
    if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  }),
});
/** A placement preference. */
export type PlacementPreference = z.infer<typeof PlacementPreferenceSchema>;
