/**
 * The layers hold: core <- watcher, core <- process, (core, watcher, process) <- service <- apps.
 * A package imports another only by its public name (never its src/), only the packages below it,
 * and lists what it imports in its package.json (the isolated linker links nothing else).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "..");

/** Which `@specter/*` packages each workspace package may import. */
const ALLOWED: Record<string, string[]> = {
  "@specter/core": [],
  "@specter/watcher": ["@specter/core"],
  "@specter/process": ["@specter/core"],
  "@specter/service": ["@specter/core", "@specter/watcher", "@specter/process"],
  "@specter/demo": ["@specter/core", "@specter/watcher", "@specter/process", "@specter/service"],
};

const workspaces = [...new Bun.Glob("{packages,apps}/*/package.json").scanSync(root)].map((p) => {
  const dir = dirname(join(root, p));
  const pkg = JSON.parse(readFileSync(join(root, p), "utf8")) as {
    name: string;
    dependencies?: Record<string, string>;
  };
  return { dir, name: pkg.name, deps: Object.keys(pkg.dependencies ?? {}) };
});

const IMPORT =
  /(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2]) as string);
}

test("every workspace package has a rule", () => {
  expect(workspaces.map((w) => w.name).sort()).toEqual(Object.keys(ALLOWED).sort());
});

for (const ws of workspaces) {
  const files = [...new Bun.Glob("{src,test}/**/*.ts").scanSync(ws.dir)].map((f) =>
    join(ws.dir, f),
  );

  test(`${ws.name} imports only the layers below it, by their public names`, () => {
    const allowed = ALLOWED[ws.name] ?? [];
    const wrong: string[] = [];
    for (const file of files) {
      const where = relative(root, file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith("@specter/")) {
          const name = spec.split("/").slice(0, 2).join("/");
          if (!allowed.includes(name)) wrong.push(`${where}: imports ${spec} (not a layer below)`);
          if (/\/src(\/|$)/.test(spec)) wrong.push(`${where}: imports ${spec} (internals)`);
          continue;
        }
        if (spec.startsWith(".")) {
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(`${ws.dir}/`))
            wrong.push(`${where}: imports ${spec}, outside its own package`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  test(`${ws.name} lists in package.json the @specter packages its src imports, and only layers below it`, () => {
    const used = new Set<string>();
    for (const file of files.filter((f) => f.startsWith(join(ws.dir, "src")))) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith("@specter/")) used.add(spec.split("/").slice(0, 2).join("/"));
      }
    }
    const listed = ws.deps.filter((d) => d.startsWith("@specter/"));
    for (const name of used) expect(listed).toContain(name);
    for (const name of listed) expect(ALLOWED[ws.name]).toContain(name);
  });
}

test("@specter/process does not depend on @specter/watcher, even transitively through its list", () => {
  const proc = workspaces.find((w) => w.name === "@specter/process");
  expect(proc?.deps).not.toContain("@specter/watcher");
});
