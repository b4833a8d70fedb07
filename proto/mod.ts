/**
 * Warren's contract, a leaf module: domain schemas and types (zod), typed errors, the generated
 * gRPC wire code (as `wire`) and the one converter between wire and domain types.
 */
export * from "./schema/mod.ts";
export * from "./errors.ts";
export * from "./version.ts";
export {
  codecs,
  type DomainOf,
  enums,
  fromWire,
  type MessageName,
  toWire,
  type WireOf,
} from "./convert.ts";
export type { Codec } from "./convert.ts";
export * as wire from "./gen/warren.ts";
