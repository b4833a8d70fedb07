/**
 * Decoding of large list responses straight from bytes to domain values, one item at a time.
 *
 * `codecs.X.fromWireTrusted(wire.X.decode(bytes))` first builds the whole wire tree (1,000
 * services: ~10,000 objects), then the domain tree beside it: both are alive at once, so a young
 * GC during the decode copies (and promotes) both. Here each item's wire object is converted as
 * soon as it is read and dropped: same result, about half the live memory. The items are decoded
 * by the generated code and converted by the one converter; only the list's own two fields
 * (`repeated Item items = 1; uint64 index = 2;`) are read here.
 * @module
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type * as d from "./schema/mod.ts";
import * as w from "./gen/warren.ts";
import { decService } from "./_convert_task.ts";

/** The generated decoder of one message type. */
interface ItemDecoder<W> {
  decode(input: BinaryReader | Uint8Array, length?: number): W;
}

/**
 * Decodes a message shaped `repeated Item items = 1; uint64 index = 2;` (other fields are
 * skipped, as the generated decoders do), converting each item with `convert`.
 */
export function decodeList<W, D>(
  bytes: Uint8Array,
  item: ItemDecoder<W>,
  convert: (message: W) => D,
): { items: D[]; index: number } {
  const reader = new BinaryReader(bytes);
  const items: D[] = [];
  let index = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) {
      items.push(convert(item.decode(reader, reader.uint32())));
    } else if (tag === ((2 << 3) | WireType.Varint)) {
      index = safeNumber(reader.uint64());
    } else {
      if ((tag & 7) === WireType.EndGroup || tag === 0) break;
      reader.skip(tag & 7);
    }
  }
  return { items, index };
}

/** A `ListServicesResponse` as `codecs.ListServicesResponse.fromWireTrusted` decodes it. */
export function decodeServiceList(bytes: Uint8Array): d.ListServicesResponse {
  const { items, index } = decodeList(bytes, w.Service, decService);
  return { services: items as d.Service[], index };
}

/** A uint64 as a number; refused beyond 2^53 like the generated decoders do. */
function safeNumber(v: bigint | string): number {
  const n = Number(v);
  if (n > Number.MAX_SAFE_INTEGER) {
    throw new Error("Value is larger than Number.MAX_SAFE_INTEGER");
  }
  return n;
}
