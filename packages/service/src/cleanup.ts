/**
 * Finding how to release a resource: the first of these methods it has, tried in this order.
 * Symbols come last because a class that has both usually means the same by them.
 */
export const CLEANUP_METHODS = [
  "stop",
  "close",
  "disconnect",
  "destroy",
  "terminate",
  "kill",
] as const;

export type CleanupMethod<R> = keyof R | ((resource: R) => unknown);

/** Returns a function that releases `resource`, or throws a TypeError naming what was tried. */
export function cleanupFor<R>(resource: R, method?: CleanupMethod<R>): () => unknown {
  if (typeof method === "function") return () => method(resource);
  const target = resource as Record<PropertyKey, unknown>;
  if (resource === null || (typeof resource !== "object" && typeof resource !== "function")) {
    throw new TypeError(
      `own(): expected an object with a cleanup method, got ${resource === null ? "null" : typeof resource}`,
    );
  }
  if (method !== undefined) {
    const fn = target[method as PropertyKey];
    if (typeof fn !== "function") {
      throw new TypeError(`own(): the resource has no method ${String(method)}()`);
    }
    return () => (fn as () => unknown).call(resource);
  }
  for (const name of CLEANUP_METHODS) {
    const fn = target[name];
    if (typeof fn === "function") return () => (fn as () => unknown).call(resource);
  }
  for (const symbol of [Symbol.asyncDispose, Symbol.dispose]) {
    const fn = target[symbol];
    if (typeof fn === "function") return () => (fn as () => unknown).call(resource);
  }
  const kind = (resource as object).constructor?.name ?? typeof resource;
  throw new TypeError(
    `own(): cannot tell how to release this ${kind}: it has none of ${CLEANUP_METHODS.map((m) => `${m}()`).join(", ")}, ` +
      '[Symbol.asyncDispose]() or [Symbol.dispose](); pass the method as the second argument, e.g. own(res, "shutdown") or own(res, (r) => r.end())',
  );
}
