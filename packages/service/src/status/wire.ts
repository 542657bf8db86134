/**
 * How a value is written as JSON on the wire (`/events`, and the status page, which shows a value
 * the same before and after it arrives live): what `JSON.stringify` would lose or reject is made
 * readable.
 */

/**
 * A `JSON.stringify` replacer: a bigint as its text, a `Map` as an object (keys as they print), a
 * `Set` or a typed array as an array, an `Error` as "Name: message". Everything else as
 * `JSON.stringify` writes it.
 */
export function wireReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) {
      Object.defineProperty(out, String(k), {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (value instanceof Set) return [...value];
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<unknown>);
  }
  return value;
}

/**
 * A value as `/events` sends it (through JSON, with `wireReplacer`), so the page shows a value the
 * same before and after it arrives live; `"[not serialisable]"` for a cycle or a getter that throws.
 */
export function toWire(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value, wireReplacer);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return "[not serialisable]";
  }
}
