import assert from "node:assert/strict";
import { parse } from "yaml";
import { renderJson, renderKeyValues, renderList, renderObject, renderTable } from "./format.ts";
import type { TableView } from "./format.ts";

interface Item {
  id: string;
  name: string;
  extra?: string;
}
const view: TableView<Item> = {
  headers: ["ID", "NAME"],
  row: (i) => [i.id, i.name],
  id: (i) => i.id,
};
const items: Item[] = [{ id: "a1", name: "web" }, { id: "b22222", name: "db", extra: undefined }];

Deno.test("format: tables align columns with three spaces and no trailing blanks", () => {
  assert.equal(
    renderTable(["ID", "NAME", "X"], [["a1", "web", ""], ["b22222", "database", "1"]]),
    ["ID       NAME       X", "a1       web", "b22222   database   1"].join("\n"),
  );
  assert.equal(renderTable(["ID", "NAME"], []), "ID   NAME");
});

Deno.test("format: lists as table, JSON, YAML or IDs only", () => {
  assert.equal(
    renderList(items, view, { format: "table" }),
    "ID       NAME\na1       web\nb22222   db",
  );
  assert.equal(renderList(items, view, { format: "json", quiet: true }), "a1\nb22222");
  assert.deepEqual(JSON.parse(renderList(items, view, { format: "json" })), [
    { id: "a1", name: "web" },
    { id: "b22222", name: "db" },
  ]);
  const yaml = renderList(items, view, { format: "yaml" });
  assert.equal(yaml, "- id: a1\n  name: web\n- id: b22222\n  name: db");
  assert.deepEqual(parse(yaml), JSON.parse(renderJson(items)));
  assert.equal(renderList([], view, { format: "table", quiet: true }), "");
});

Deno.test("format: one object is JSON in table mode, YAML on request; key-values align", () => {
  assert.equal(renderObject({ a: 1 }, "table"), '{\n  "a": 1\n}');
  assert.equal(renderObject({ a: 1, b: [1] }, "yaml"), "a: 1\nb:\n  - 1");
  assert.equal(
    renderKeyValues([["ID", "c1"], ["Managers", "3"], ["Leader", ""]]),
    [
      "ID:       c1",
      "Managers: 3",
      "Leader:",
    ].join("\n"),
  );
});
