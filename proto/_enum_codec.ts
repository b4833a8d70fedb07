/**
 * Maps zod string enums to protobuf enums by naming rule: domain value `on-failure` of enum
 * prefix `RESTART_CONDITION` is wire `RESTART_CONDITION_ON_FAILURE`. A mismatch between the two
 * definitions is a programming error and throws when the module loads.
 */

/** A two-way mapping between a domain string enum and a generated protobuf enum. */
export interface EnumCodec<D extends string, E extends number> {
  /** Wire enum name prefix, e.g. `TASK_STATE`. */
  readonly prefix: string;
  /** Domain value → wire number. */
  toWire(value: D): E;
  /**
   * Wire number → domain value; `undefined` for 0 (UNSPECIFIED), so zod defaults apply or a
   * required field reports "is required"; an unknown number yields a string zod rejects.
   */
  fromWire(value: E): D | string | undefined;
  /** Every wire number that has a domain value. */
  readonly wireValues: readonly number[];
}

/** Wire enum key for a domain value. */
export function wireEnumKey(prefix: string, value: string): string {
  return `${prefix}_${value.toUpperCase().replace(/-/g, "_")}`;
}

/** Builds the codec; throws if `wireEnum` lacks a key for one of `values`. */
export function enumCodec<D extends string, E extends number>(
  wireEnum: Record<string, string | number>,
  prefix: string,
  values: readonly D[],
): EnumCodec<D, E> {
  const toWire = new Map<D, E>();
  const fromWire = new Map<number, D>();
  for (const value of values) {
    const key = wireEnumKey(prefix, value);
    const n = wireEnum[key];
    if (typeof n !== "number") throw new Error(`warren.proto lacks ${key} for "${value}"`);
    toWire.set(value, n as E);
    fromWire.set(n, value);
  }
  return {
    prefix,
    toWire(value: D): E {
      const n = toWire.get(value);
      if (n === undefined) throw new TypeError(`${prefix}: no wire value for "${value}"`);
      return n;
    },
    fromWire(value: E): D | string | undefined {
      if (value === 0) return undefined;
      return fromWire.get(value) ?? `${prefix}(${value})`;
    },
    wireValues: [...fromWire.keys()],
  };
}
