import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";

/** Every ```ts block of the README runs as written (from the package folder) and exits cleanly. */
const dir = join(import.meta.dir, "..");
const readme = await Bun.file(join(dir, "README.md")).text();
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);

test("the README has examples", () => {
  expect(blocks.length).toBeGreaterThanOrEqual(3);
});

test.each(blocks.map((code, i) => [i + 1, code]))(
  "README example %d runs",
  async (i, code) => {
    const file = join(dir, `.readme-example-${i}.ts`);
    await Bun.write(file, code as string);
    try {
      const child = Bun.spawn([process.execPath, file], {
        cwd: dir,
        stdout: "pipe",
        stderr: "pipe",
      });
      const [exitCode, out, err] = await Promise.all([
        child.exited,
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
      ]);
      expect({ exitCode, err }).toEqual({ exitCode: 0, err: "" });
      expect(out.length).toBeGreaterThan(0);
    } finally {
      rmSync(file, { force: true });
    }
  },
  10_000,
);
