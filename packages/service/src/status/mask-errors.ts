/**
 * Error messages and restart reasons as the status endpoint shows them. They are free text from a
 * service's own code and the libraries it calls, and often carry a secret: a failed fetch with
 * `?api_key=` in its URL, a database URL with its password, an `Authorization` header a client
 * echoed, a command line. They are masked like any other string of a service (`maskString`).
 */
import { maskString } from "./mask-argv.ts";

/**
 * Masked copies by original. `health()` hands out the same `lastError` object until the next error,
 * so each message is masked once however many responses show it: about 5 µs for a short message,
 * but 72 ms for one of 1 MB, which a `/status` poll would otherwise pay every time.
 */
const masked = new WeakMap<object, object>();

/** `note` with its `field` (a message, a reason) masked; `null` stays `null`. */
export function maskNote<T extends object, K extends keyof T>(note: T | null, field: K): T | null {
  if (note === null) return null;
  let out = masked.get(note) as T | undefined;
  if (out === undefined) {
    const text = note[field];
    out = { ...note, [field]: maskMessage(text) };
    masked.set(note, out);
  }
  return out;
}

/** One error message masked, as a string of a service's data is. */
export function maskMessage(text: unknown): string {
  return maskString(String(text));
}
