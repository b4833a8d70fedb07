/**
 * Output formats of the client commands: aligned tables (the default, like `docker service ls`),
 * JSON, YAML, and `-q` (IDs only, one per line).
 * @module
 */
import { stringify } from "yaml";

/** The formats `-o` accepts. */
export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
/** An output format. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** How a list of objects appears as a table. */
export interface TableView<T> {
  /** Column headers, upper case. */
  headers: readonly string[];
  /** One row per object, a cell per header. */
  row(item: T): readonly string[];
  /** The ID `-q` prints. */
  id(item: T): string;
}

/** Columns padded to their widest cell, separated by three spaces; no trailing blanks. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  return all
    .map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("   ").trimEnd())
    .join("\n");
}

/** Pretty JSON with a two-space indent. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** YAML; a list becomes a sequence, `undefined` fields are left out. */
export function renderYaml(value: unknown): string {
  return stringify(JSON.parse(JSON.stringify(value ?? null))).trimEnd();
}

/** Renders a list in `format` (tables through `view`), or only IDs when `quiet`. */
export function renderList<T>(
  items: readonly T[],
  view: TableView<T>,
  opts: { format: OutputFormat; quiet?: boolean },
): string {
  if (opts.quiet) return items.map(view.id).join("\n");
  switch (opts.format) {
    case "json":
      return renderJson(items);
    case "yaml":
      return renderYaml(items);
    case "table":
      return renderTable(view.headers, items.map(view.row));
  }
}

/**
 * Renders one object: JSON for `table` (an object has no rows; like `docker inspect`) and
 * `json`, YAML for `yaml`.
 */
export function renderObject(value: unknown, format: OutputFormat): string {
  return format === "yaml" ? renderYaml(value) : renderJson(value);
}

/** `key: value` lines with the keys aligned, for small records in table mode. */
export function renderKeyValues(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd()).join("\n");
}
