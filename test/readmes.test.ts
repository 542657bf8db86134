/**
 * Every ```ts block in the READMEs runs as written, from the README's folder, and exits cleanly:
 * the examples a newcomer copies must work.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const readmes = [
  "README.md",
  ...[...new Bun.Glob("{packages,apps}/*/README.md").scanSync(root)].sort(),
];
const examples = readmes.flatMap((readme) => {
  const text = readFileSync(join(root, readme), "utf8");
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
    readme,
    index: i + 1,
    code: m[1] as string,
  }));
});

test("the READMEs have examples", () => {
  expect(examples.length).toBeGreaterThanOrEqual(4);
});

test.each(examples.map((e) => [`${e.readme} #${e.index}`, e]))(
  "%s runs",
  async (_name, example) => {
    const { readme, index, code } = example as (typeof examples)[number];
    const dir = dirname(join(root, readme));
    const file = join(dir, `.readme-example-${index}-${process.pid}.ts`);
    await Bun.write(file, code);
    try {
      const child = Bun.spawn([process.execPath, file], {
        cwd: dir,
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const [exitCode, out, err] = await Promise.all([
        child.exited,
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
      ]);
      clearTimeout(timer);
      expect({ example: relative(root, file), exitCode, err }).toEqual({
        example: relative(root, file),
        exitCode: 0,
        err: "",
      });
      expect(out.length).toBeGreaterThan(0);
    } finally {
      rmSync(file, { force: true });
    }
  },
  20_000,
);

test("every file a README links to or names in its layer table exists", () => {
  const missing: string[] = [];
  for (const readme of readmes) {
    const dir = dirname(join(root, readme));
    const text = readFileSync(join(root, readme), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue; // a URL
      if (!existsSync(join(dir, target as string))) missing.push(`${readme}: ${target}`);
    }
  }
  expect(missing).toEqual([]);
});
