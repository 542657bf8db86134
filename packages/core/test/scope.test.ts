import { describe, expect, test } from "bun:test";
import { type CleanupError, OptionsError, Scope } from "../src/index.ts";
import { waitFor } from "../src/testing/index.ts";

/** A scope whose errors are collected instead of printed. */
function scope(name = "test", cleanupTimeout: number | string = "1s") {
  const errors: CleanupError[] = [];
  const s = new Scope(name, { cleanupTimeout, onError: (e) => errors.push(e) });
  return { s, errors };
}

describe("Scope", () => {
  test("close() runs cleanups last-added first, each once, and ends closed", async () => {
    const { s, errors } = scope();
    const order: string[] = [];
    for (const name of ["a", "b", "c"]) s.addCleanup(() => order.push(name), name);
    expect(s.size).toBe(3);
    expect(s.state).toBe("open");
    const closing = s.close();
    expect(s.state).toBe("closing");
    expect(s.close()).toBe(closing); // idempotent: one shared promise
    await closing;
    await s.close();
    expect(order).toEqual(["c", "b", "a"]);
    expect(s.state).toBe("closed");
    expect(s.size).toBe(0);
    expect(errors).toEqual([]);
  });

  test("async cleanups run one after another, in order", async () => {
    const { s } = scope();
    const order: string[] = [];
    s.addCleanup(async () => {
      order.push("first-start");
      await Bun.sleep(1);
      order.push("first-end");
    });
    s.addCleanup(async () => {
      order.push("second-start");
      await Bun.sleep(1);
      order.push("second-end");
    });
    await s.close();
    expect(order).toEqual(["second-start", "second-end", "first-start", "first-end"]);
  });

  test("a cleanup that never settles is abandoned after cleanupTimeout; the rest still run", async () => {
    const { s, errors } = scope("stuck", 50);
    const ran: string[] = [];
    s.addCleanup(() => ran.push("last"), "last");
    s.addCleanup(() => new Promise(() => {}), "stuck socket");
    await s.close();
    expect(ran).toEqual(["last"]);
    expect(errors.map((e) => [e.label, e.reason, e.message])).toEqual([
      [
        "stuck socket",
        "timeout",
        "stuck socket did not finish within 50ms (cleanupTimeout); moved on",
      ],
    ]);
  });

  test("a cleanup that throws or rejects is reported with its cause; the rest still run", async () => {
    const { s, errors } = scope();
    const ran: string[] = [];
    s.addCleanup(() => ran.push("first"), "first");
    s.addCleanup(() => Promise.reject(new Error("disk gone")), "flush");
    s.addCleanup(() => {
      throw new Error("already closed");
    }, "socket");
    await s.close();
    expect(ran).toEqual(["first"]);
    expect(errors.map((e) => [e.label, e.reason, e.message])).toEqual([
      ["socket", "failed", "socket failed: already closed"],
      ["flush", "failed", "flush failed: disk gone"],
    ]);
    expect((errors[0]?.cause as Error | undefined)?.message).toBe("already closed");
  });

  test("the function addCleanup returns removes the cleanup without running it", async () => {
    const { s } = scope();
    const ran: string[] = [];
    const remove = s.addCleanup(() => ran.push("removed"));
    s.addCleanup(() => ran.push("kept"));
    remove();
    remove();
    expect(s.size).toBe(1);
    await s.close();
    expect(ran).toEqual(["kept"]);
  });

  test("cleanups added while closing run in the same close; added after, they run at once", async () => {
    const { s } = scope();
    const ran: string[] = [];
    s.addCleanup(() => {
      ran.push("outer");
      s.addCleanup(() => ran.push("added while closing"));
    });
    await s.close();
    expect(ran).toEqual(["outer", "added while closing"]);
    const late = Promise.withResolvers<void>();
    s.addCleanup(() => {
      ran.push("added after close");
      late.resolve();
    });
    await late.promise;
    expect(ran.at(-1)).toBe("added after close");
  });

  test("a child scope closes with its parent, at its place in the order", async () => {
    const { s } = scope("parent");
    const order: string[] = [];
    s.addCleanup(() => order.push("parent-first"));
    const child = s.fork("child");
    child.addCleanup(() => order.push("child-a"));
    child.addCleanup(() => order.push("child-b"));
    s.addCleanup(() => order.push("parent-last"));
    await s.close();
    expect(order).toEqual(["parent-last", "child-b", "child-a", "parent-first"]);
    expect(child.state).toBe("closed");
  });

  test("a child scope closed on its own leaves its parent; the parent does not close it twice", async () => {
    const { s } = scope("parent");
    let runs = 0;
    const child = s.fork("child");
    expect(child.size).toBe(0); // nothing of its own yet: the link to its parent is not a cleanup
    child.addCleanup(() => runs++);
    expect(s.size).toBe(1);
    expect(child.size).toBe(1);
    await child.close();
    expect(s.size).toBe(0);
    await s.close();
    expect(runs).toBe(1);
  });

  test("child scopes inherit cleanupTimeout and onError", async () => {
    const { s, errors } = scope("parent", 30);
    const child = s.fork("child");
    expect(child.cleanupTimeout).toBe(30);
    child.addCleanup(() => new Promise(() => {}), "hung");
    await s.close();
    expect(errors.map((e) => e.label)).toEqual(["hung"]);
  });

  test("await using closes the scope at the end of the block", async () => {
    const ran: string[] = [];
    {
      await using s = new Scope("block");
      s.addCleanup(() => ran.push("released"));
      expect(ran).toEqual([]);
    }
    expect(ran).toEqual(["released"]);
  });

  test("bad input names the option and what is allowed", () => {
    expect(() => new Scope("s", { cleanupTimeout: "soon" })).toThrow(OptionsError);
    expect(() => new Scope("s", { cleanupTimeout: "soon" })).toThrow(
      /Scope "s": option "cleanupTimeout" got "soon": expected a duration greater than 0/,
    );
    expect(() => new Scope("")).toThrow(/option "name" got "": expected a non-empty string/);
    expect(() => new Scope("s").addCleanup("nope" as never)).toThrow(
      /option "fn" got "nope": expected a function/,
    );
  });

  test("without onError, a failing cleanup goes to console.error", async () => {
    const original = console.error;
    const printed: unknown[][] = [];
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      const s = new Scope("noisy");
      s.addCleanup(() => {
        throw new Error("boom");
      }, "widget");
      await s.close();
    } finally {
      console.error = original;
    }
    expect(printed).toEqual([['[specter] scope "noisy": widget failed: boom']]);
  });

  test("an onError that throws cannot stop the close: the other cleanups run and close() resolves", async () => {
    const original = console.error;
    const printed: unknown[][] = [];
    console.error = (...args: unknown[]) => printed.push(args);
    const ran: string[] = [];
    try {
      const s = new Scope("fragile", {
        onError: () => {
          throw new Error("onError bug");
        },
      });
      s.addCleanup(() => ran.push("first"), "first");
      s.addCleanup(() => {
        throw new Error("boom");
      }, "widget");
      await s.close();
      expect(s.state).toBe("closed");
    } finally {
      console.error = original;
    }
    expect(ran).toEqual(["first"]);
    expect(String(printed[0]?.[0])).toContain(
      'onError threw while reporting "widget failed: boom"',
    );
  });

  test("a cleanup's own timeout, when longer, is waited for instead of cleanupTimeout", async () => {
    const { s, errors } = scope("process owner", 50);
    const ended: string[] = [];
    s.addCleanup(() => Bun.sleep(150).then(() => ended.push("short bound")), "short bound", {
      timeout: 10,
    });
    s.addCleanup(() => Bun.sleep(150).then(() => ended.push("process")), "process", {
      timeout: "2s",
    });
    await s.close();
    // The 2 s bound covers the process; a timeout shorter than cleanupTimeout does not shorten it.
    expect(ended).toEqual(["process"]);
    expect(errors.map((e) => [e.label, e.reason, e.message])).toEqual([
      [
        "short bound",
        "timeout",
        "short bound did not finish within 50ms (cleanupTimeout); moved on",
      ],
    ]);
  });

  test("a cleanup abandoned at its own timeout says so, and its later failure is reported too", async () => {
    const { s, errors } = scope("owner", 20);
    const { promise: stuck, reject } = Promise.withResolvers<void>();
    s.addCleanup(() => stuck, "worker", { timeout: 40 });
    await s.close();
    expect(errors.map((e) => e.message)).toEqual([
      "worker did not finish within 40ms (its timeout); moved on",
    ]);
    reject(new Error("survived SIGKILL"));
    await waitFor(() => errors.length === 2);
    expect(errors[1]?.reason).toBe("failed");
    expect(errors[1]?.message).toBe(
      "worker failed after it was abandoned (its timeout 40ms): survived SIGKILL",
    );
  });

  test("timeout: Infinity waits without a bound; a bad timeout is an OptionsError", async () => {
    const { s, errors } = scope("unbounded", 10);
    let done = false;
    s.addCleanup(() => Bun.sleep(60).then(() => (done = true)), "child", { timeout: Infinity });
    await s.close();
    expect(done).toBe(true);
    expect(errors).toEqual([]);
    const open = new Scope("checks");
    expect(() => open.addCleanup(() => {}, "x", { timeout: -1 })).toThrow(
      /Scope "checks".addCleanup\(\): option "timeout" got -1: expected a duration greater than 0/,
    );
    expect(() => open.addCleanup(() => {}, "x", { timout: 5 } as never)).toThrow(
      /option "timout" got 5: expected no such option; known options are timeout/,
    );
    expect(open.size).toBe(0);
  });

  test("a cleanup added after close runs at once, whatever its timeout", async () => {
    const { s } = scope();
    await s.close();
    const ran: string[] = [];
    s.addCleanup(() => ran.push("plain"));
    s.addCleanup(() => ran.push("bounded"), "bounded", { timeout: "5s" });
    await waitFor(() => ran.length === 2);
    expect(s.size).toBe(0);
  });

  test("onLate hears of each cleanup and fork added after close; forks inherit it; a throw in it is contained", async () => {
    const late: string[] = [];
    const s = new Scope("root", {
      onLate: (label, where) => void late.push(`${where.name}: ${label}`),
    });
    const early = s.fork("early");
    s.addCleanup(() => {}, "before close");
    await s.close();
    const ran: string[] = [];
    s.addCleanup(() => ran.push("late"), "late cleanup");
    const fork = s.fork("late fork");
    early.addCleanup(() => ran.push("early"), "added to a closed fork");
    await waitFor(() => ran.length === 2 && fork.state === "closed");
    expect(late).toEqual([
      "root: late cleanup",
      'root: scope "late fork"',
      "early: added to a closed fork",
    ]);
    const throwing = new Scope("throws", {
      onLate: () => {
        throw new Error("listener bug");
      },
    });
    await throwing.close();
    const original = console.error;
    const printed: unknown[][] = [];
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      expect(() => throwing.addCleanup(() => ran.push("still"), "x")).not.toThrow();
    } finally {
      console.error = original;
    }
    await waitFor(() => ran.includes("still"));
    expect(printed.map(([text, error]) => [text, (error as Error).message])).toEqual([
      ['[specter] scope "throws": onLate threw for "x":', "listener bug"],
    ]);
    expect(() => new Scope("s", { onLate: "loud" as never })).toThrow(
      /option "onLate" got "loud": expected a function \(label: string, scope: Scope\) => void/,
    );
  });
});
