import { afterEach } from "bun:test";

/**
 * The list a test file pushes its cleanups to; they run newest first after each test. Call it at
 * the file's top level: a hook registered inside a shared module would run for one file only.
 */
export function cleanupAfterEach(): (() => Promise<unknown>)[] {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  return cleanups;
}
