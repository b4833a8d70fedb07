import assert from "node:assert/strict";
import {
  type Command,
  CommandSchema,
  decodeCommand,
  encodeCommand,
  encodeValidatedCommand,
} from "./commands.ts";
import { CreateServiceRequestSchema, type ServiceSpecInput } from "../../proto/schema/mod.ts";

const specs: ServiceSpecInput[] = [
  { name: "web", image: "registry.local/web:1" },
  {
    name: "api",
    image: "registry.local/api:2",
    replicas: 3,
    env: ["A=1"],
    ports: [{ target: 80, published: 8080 }],
    mounts: [{ type: "volume", source: "data", target: "/data" }],
    labels: { team: "x" },
    healthCheck: { type: "tcp", tcp: { port: 80 }, intervalMs: 1000 },
  },
];

Deno.test("commands: a service.create from a parsed spec encodes the same without the re-parse", () => {
  for (const input of specs) {
    // What the API hands to createService: the request parsed by its schema.
    const { spec } = CreateServiceRequestSchema.parse({ spec: input });
    const cmd: Command = {
      kind: "service.create",
      at: 5,
      service: { id: "abc", spec, specVersion: 1, createdAt: 5, updatedAt: 5 },
    };
    assert.deepEqual(CommandSchema.parse(cmd), cmd, "parsing it again changes nothing");
    assert.deepEqual(
      decodeCommand(encodeValidatedCommand(cmd)),
      decodeCommand(encodeCommand(cmd)),
    );
  }
});
