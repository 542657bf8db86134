/** A service's data as it may go over HTTP: secrets masked, odd values made readable, bounded. */
import { maskArgv, maskString } from "./mask-argv.ts";
import { isSecretName, MASK } from "./secret-text.ts";

export { maskArgv };

/** Longest JSON text one data value may take on the wire; a longer one is cut. */
export const MAX_DATA_VALUE_CHARS = 1_000;
/** Deepest nesting of a data value shown; deeper objects are summarised. */
const MAX_DEPTH = 6;
/**
 * Deepest nesting of a watcher value or an event's payload shown: these are whole documents (a
 * Kubernetes object's `spec.containers[0].env[0].valueFrom.secretKeyRef` is 7 deep).
 */
const MAX_WIRE_DEPTH = 32;

/** How far one value is masked: longest JSON kept, and deepest nesting. */
interface Bounds {
  /**
   * Longest JSON text kept; a longer value is cut. The walk looks at about twice this many
   * characters (past that only "…" is added, since what follows would be cut anyway), so a huge
   * array, a wide object or a long string costs no more to mask than a value just over the limit;
   * a long string is read this much further, so that a secret which starts in the part shown (a
   * URL password up to its "@") is still seen whole by the masks.
   */
  maxChars: number;
  maxDepth: number;
}

const DATA_BOUNDS: Bounds = { maxChars: MAX_DATA_VALUE_CHARS, maxDepth: MAX_DEPTH };
/** The marker of what a walk left out. */
const MORE = "…";

/** One top-level value's walk: objects on the current path, and the budget left. */
interface Walk {
  bounds: Bounds;
  seen: WeakSet<object>;
  left: number;
  /** Characters of long strings left out before masking (the cut counts them in). */
  omitted: number;
  /** Items of a list or an object were left out: the cut says "at least". */
  partial: boolean;
}

/**
 * A service's data as it may go over HTTP: every value under a secret-looking key (`token`,
 * `password`, `secret`, `apiKey`, `auth`, `cookie`, ...; the rules of `maskArgv`) replaced by
 * `"***"` at any depth, secrets inside strings masked (URL passwords, `Bearer ...`, `?token=`
 * query parameters), values JSON cannot carry made readable (bigint as text, functions, cycles,
 * `Map`/`Set`, typed arrays, errors as "Name: message", an invalid date as "Invalid Date"; an
 * object with `toJSON` as what that returns), and each
 * top-level value whose JSON is longer than `MAX_DATA_VALUE_CHARS` cut to a string that says how
 * much was left out. It never throws: a value that cannot be read (a getter or a proxy that
 * throws) is shown as `"[unreadable: <message>]"`, in place of that value only.
 */
export function maskData(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let keys: string[];
  try {
    keys = Object.keys(data);
  } catch (error) {
    return { "[unreadable]": unreadable(error) };
  }
  for (const key of keys) {
    let value: unknown;
    try {
      value = isSecretName(key) ? MASK : data[key];
    } catch (error) {
      value = unreadable(error);
    }
    define(out, key, maskBounded(value, DATA_BOUNDS));
  }
  return out;
}

/**
 * A watcher's value or a service event's payload as `/events` and the page show it: masked by the
 * rules of `maskData` (values under secret-looking keys, secrets inside strings), nested up to 32
 * deep, and cut to a string when its JSON is longer than `maxChars`. Expects a value as it
 * travels in JSON (see `toWire`); never throws.
 */
export function maskWireValue(value: unknown, maxChars: number): unknown {
  return maskBounded(value, { maxChars, maxDepth: MAX_WIRE_DEPTH });
}

function maskBounded(value: unknown, bounds: Bounds): unknown {
  const walk: Walk = {
    bounds,
    seen: new WeakSet(),
    left: 2 * bounds.maxChars,
    omitted: 0,
    partial: false,
  };
  let masked: unknown;
  try {
    masked = maskValue(value, 1, walk);
  } catch (error) {
    masked = unreadable(error);
  }
  return bound(masked, walk);
}

function maskValue(value: unknown, depth: number, walk: Walk): unknown {
  walk.left -= 1;
  if (typeof value === "string") {
    let text = value;
    const room = Math.max(0, walk.left) + walk.bounds.maxChars;
    if (text.length > room) {
      text = text.slice(0, room);
      walk.omitted += value.length - room;
    }
    walk.left -= text.length;
    return maskString(text);
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function") return "[function]";
  if (typeof value === "symbol" || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value !== "object") return value;
  if (walk.seen.has(value)) return "[circular]";
  if (depth > walk.bounds.maxDepth) return Array.isArray(value) ? "[array]" : "[object]";
  walk.seen.add(value);
  try {
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
    }
    if (value instanceof Error) return maskValue(`${value.name}: ${value.message}`, depth, walk);
    // What JSON would write for it (a Decimal, a Luxon DateTime, ...), masked and bounded the same.
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return maskValue(toJSON.call(value, ""), depth, walk);
    if (ArrayBuffer.isView(value)) {
      if (value instanceof DataView) return `[DataView of ${value.byteLength} bytes]`;
      return maskList(value as unknown as Iterable<unknown>, depth, walk);
    }
    if (Array.isArray(value) || value instanceof Set) return maskList(value, depth, walk);
    if (value instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value) {
        if (walk.left <= 0) return more(out, walk);
        const key = keyText(k);
        walk.left -= key.length + 3;
        define(out, key, isSecretName(key) ? MASK : maskValue(v, depth + 1, walk));
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    // for...in rather than Object.keys: a huge object is left early without listing every key.
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (walk.left <= 0) return more(out, walk);
      walk.left -= key.length + 3;
      define(out, key, isSecretName(key) ? MASK : maskProperty(value, key, depth, walk));
    }
    return out;
  } finally {
    walk.seen.delete(value);
  }
}

/** An array, a set or a typed array, as an array, up to the budget. */
function maskList(list: Iterable<unknown>, depth: number, walk: Walk): unknown[] {
  const out: unknown[] = [];
  for (const v of list) {
    if (walk.left <= 0) {
      walk.partial = true;
      out.push(MORE);
      break;
    }
    out.push(maskValue(v, depth + 1, walk));
  }
  return out;
}

/** A property, read through a getter that may throw: only that property is then unreadable. */
function maskProperty(object: object, key: string, depth: number, walk: Walk): unknown {
  let value: unknown;
  try {
    value = (object as Record<string, unknown>)[key];
  } catch (error) {
    return unreadable(error);
  }
  return maskValue(value, depth + 1, walk);
}

function more(out: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  walk.partial = true;
  define(out, MORE, MORE);
  return out;
}

/** A Map key as an object key: text as it is, anything else as it prints. */
function keyText(key: unknown): string {
  if (typeof key === "string") return key;
  if (typeof key === "object" && key !== null) return Array.isArray(key) ? "[array]" : "[object]";
  return String(key);
}

/** Sets an own property, also for a key such as "__proto__" that plain assignment would not. */
function define(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function unreadable(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? error.message : String(error);
  } catch {
    message = "unknown error";
  }
  // The message is the service's own text: masked like any other.
  const text = message.slice(0, 200);
  return `[unreadable: ${maskString(text)}]`;
}

function bound(value: unknown, walk: Walk): unknown {
  const json = JSON.stringify(value) ?? "null";
  const cut = walk.omitted > 0 || walk.partial;
  const max = walk.bounds.maxChars;
  if (json.length <= max && !cut) return value;
  const keep = Math.min(json.length, max - 40);
  const rest = json.length - keep + walk.omitted;
  // With items left out during the walk, how much more there was is not known.
  const left = walk.partial ? `at least ${rest} more characters` : `${rest} more characters`;
  return `${json.slice(0, keep)}… (${left})`;
}
