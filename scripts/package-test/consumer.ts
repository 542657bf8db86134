/** What the package test reads from the repo and writes into the consumer project. */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface Pkg {
  dir: string;
  name: string;
  version: string;
  manifest: Record<string, unknown> & { dependencies?: Record<string, string> };
}

/** The packages under packages/, each after the `@specter/*` packages it depends on. */
export function packagesInOrder(repo: string): Pkg[] {
  const all = readdirSync(join(repo, "packages"))
    .sort()
    .map((name) => {
      const dir = join(repo, "packages", name);
      const manifest = JSON.parse(
        readFileSync(join(dir, "package.json"), "utf8"),
      ) as Pkg["manifest"];
      return { dir, name: String(manifest.name), version: String(manifest.version), manifest };
    });
  const ordered: Pkg[] = [];
  const visit = (pkg: Pkg, path: string[]) => {
    if (ordered.includes(pkg)) return;
    if (path.includes(pkg.name))
      throw new Error(`dependency cycle: ${[...path, pkg.name].join(" → ")}`);
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) {
      const inner = all.find((p) => p.name === dep);
      if (inner) visit(inner, [...path, pkg.name]);
    }
    ordered.push(pkg);
  };
  for (const pkg of all) visit(pkg, []);
  return ordered;
}

/** Every file a `types` field or `types` export condition of `manifest` points at. */
export function typesTargets(manifest: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, key: string) => {
    if (typeof value === "string" && key === "types") found.add(value.replace(/^\.\//, ""));
    else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(manifest.types, "types");
  walk(manifest.exports, "");
  return [...found].sort();
}

export interface Example {
  readme: string;
  index: number;
  file: string;
  code: string;
}

/** Every ```ts block of the root README and packages/<name>/README.md, as consumer file names. */
export function readmeExamples(repo: string): Example[] {
  const readmes = ["README.md", ...[...new Bun.Glob("packages/*/README.md").scanSync(repo)].sort()];
  return readmes.flatMap((readme) => {
    const slug = readme === "README.md" ? "root" : basename(dirname(readme));
    const text = readFileSync(join(repo, readme), "utf8");
    return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
      readme,
      index: i + 1,
      file: `readme-${slug}-${i + 1}.ts`,
      code: m[1] as string,
    }));
  });
}

/** The consumer's own test: the testing kit against a real ManagedProcess. */
export const KIT_TEST = `import { expect, test } from "bun:test";
import { ManagedProcess } from "@specter/process";
import { fakeChild, leftovers, waitFor } from "@specter/process/testing";

test("a fake child's lines are read, it stops, and it leaves nothing behind", async () => {
  const argv = await fakeChild({ stdout: ["ready", "working"], stderr: ["slow disk"] });
  const proc = new ManagedProcess("fake", { terminateTimeout: "2s", killTimeout: "1s" });
  const out: string[] = [];
  const err: string[] = [];
  proc.watchStream("stdout", (line) => out.push(line));
  proc.watchStream("stderr", (line) => err.push(line));
  proc.start(argv, { stdout: "pipe", stderr: "pipe" });
  await waitFor(() => out.length === 2 && err.length === 1, { timeout: 5_000 });
  expect(await leftovers()).toEqual([proc.pid as number]);
  const exit = await proc.stop();
  expect(exit?.stopped).toBe(true);
  expect({ out, err }).toEqual({ out: ["ready", "working"], err: ["slow disk"] });
  expect(await leftovers()).toEqual([]);
}, 15_000);

test("an exit code, a partial last line, and a crash", async () => {
  const lines: string[] = [];
  const ends = new ManagedProcess("ends");
  ends.watchStream("stdout", (line) => lines.push(line));
  ends.start(await fakeChild({ stdout: ["a"], partialLastLine: "b", exitCode: 3, exitAfter: "20ms" }), {
    stdout: "pipe",
  });
  expect((await ends.wait(5_000))?.exitCode).toBe(3);
  expect(lines).toEqual(["a", "b"]);
  const crashes = new ManagedProcess("crashes");
  crashes.start(await fakeChild({ crashAfter: "50ms" }), { stdout: "ignore" });
  expect((await crashes.wait(5_000))?.exitCode).toBe(1);
  expect(await leftovers()).toEqual([]);
}, 15_000);

test("a child that ignores SIGTERM is killed with its grandchildren", async () => {
  const argv = await fakeChild({ stdout: ["up"], ignoreSigterm: true, grandchildren: 2 });
  const proc = new ManagedProcess("stubborn", { terminateTimeout: "200ms", killTimeout: "2s" });
  const out: string[] = [];
  proc.watchStream("stdout", (line) => out.push(line));
  proc.start(argv, { stdout: "pipe" });
  await waitFor(async () => out.includes("up") && (await leftovers()).length >= 3, { timeout: 5_000 });
  const exit = await proc.stop();
  expect(exit?.killed).toBe(true);
  expect(await leftovers()).toEqual([]);
}, 15_000);
`;
