/**
 * `@specter/process/testing`: what a test of code built on `@specter/process` needs. `fakeChild()`
 * makes a real child program that prints, waits, exits, ignores SIGTERM or leaves grandchildren on
 * demand; `leftovers()` lists the processes still running below the test, without Specter's own
 * helpers; `waitFor()` polls a condition against a deadline instead of sleeping blindly.
 */
export { type WaitForOptions, waitFor } from "@specter/core/testing";
export { type FakeChildOptions, fakeChild } from "./fake-child.ts";
export { leftovers } from "./leftovers.ts";
