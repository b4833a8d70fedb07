/**
 * `ServiceService/List` answers as protobuf bytes built from cached pieces: each service is
 * converted and encoded once per version of it (services are immutable objects the FSM
 * replaces on change, so the object is the cache key), and the sorted, concatenated list and
 * the response are reused while the store's index does not move (callers must not modify it). Encoding 1,000 services from scratch cost
 * ~40 ms a call; reusing the pieces costs a copy.
 *
 * The bytes equal `ListServicesResponse.encode(codecs.ListServicesResponse.toWire(...))`: a
 * repeated field is a run of `tag, length, bytes` entries, so per-service encodings concatenate
 * into the same message (checked by service_list_encoder_test.ts).
 * @module
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { Service } from "../../proto/schema/mod.ts";
import { codecs } from "../../proto/convert.ts";
import * as wire from "../../proto/gen/warren.ts";

/** Field 1 (`services`), wire type 2 (length-delimited). */
const SERVICES_TAG = (1 << 3) | 2;

/** Encodes service lists, reusing the encoding of every service that did not change. */
export class ServiceListEncoder {
  /** Entries live as long as their service object: replaced or deleted services drop out. */
  readonly #entries = new WeakMap<Service, Uint8Array>();
  #last:
    | { table: ReadonlyMap<string, Service>; index: number; services: Service[]; body: Uint8Array }
    | undefined;
  /** The last whole response: repeated lists at one index send the same bytes, no copy. */
  #response: { body: Uint8Array; index: number; bytes: Uint8Array } | undefined;

  /**
   * The services of `table` sorted by name, and their encoded `services` field; both reused
   * while `index` (the store's applied index) and the table are those of the previous call.
   */
  sorted(table: ReadonlyMap<string, Service>, index: number): {
    services: Service[];
    body: Uint8Array;
  } {
    const last = this.#last;
    if (last && last.table === table && last.index === index) return last;
    const services = [...table.values()].sort((a, b) => a.spec.name < b.spec.name ? -1 : 1);
    const parts = services.map((sv) => this.#entry(sv));
    const body = concat(parts);
    this.#last = { table, index, services, body };
    return this.#last;
  }

  /** The whole `ListServicesResponse` for `table` at `index`. */
  encode(table: ReadonlyMap<string, Service>, index: number): Uint8Array {
    const { body } = this.sorted(table, index);
    const r = this.#response;
    if (r && r.body === body && r.index === index) return r.bytes;
    const tail = wire.ListServicesResponse.encode({ services: [], index }).finish();
    const bytes = concat([body, tail]);
    this.#response = { body, index, bytes };
    return bytes;
  }

  #entry(sv: Service): Uint8Array {
    let bytes = this.#entries.get(sv);
    if (!bytes) {
      const w = new BinaryWriter();
      wire.Service.encode(codecs.Service.toWire(sv), w.uint32(SERVICES_TAG).fork()).join();
      bytes = w.finish();
      this.#entries.set(sv, bytes);
    }
    return bytes;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
