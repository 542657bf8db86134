/**
 * The README's examples work as written, from a user's point of view: the first runs and prints
 * its output block (with the stand-in cloudflared it makes itself), the "Testing your code" file
 * passes under `bun test`, and both type-check. The root test/readmes.test.ts runs every ```ts
 * block too; the test file is fenced ```ts test, as `bun file.ts` cannot run `test()`.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { cleanup } from "./helpers.ts";

const made: string[] = [];
afterEach(async () => {
  for (const path of made.splice(0)) rmSync(path, { force: true });
  await cleanup();
});

const packageDir = join(import.meta.dir, "..");
const readme = readFileSync(join(packageDir, "README.md"), "utf8");
/** Fenced blocks by info string; a fence is a line of its own. */
const blocks = [...readme.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map(([, info, body]) => ({
  info: info as string,
  body: body as string,
}));
const block = (info: string) => {
  const found = blocks.find((b) => b.info === info);
  if (!found) throw new Error(`README.md has no \`\`\`${info} block`);
  return found.body;
};

/** Writes `code` into the package folder, as a file in a user's project would sit (gitignored). */
function exampleFile(name: string, code: string): string {
  const path = join(packageDir, `.readme-example-${name}-${process.pid}.ts`);
  made.push(path);
  writeFileSync(path, code);
  return path;
}

async function run(argv: string[], env: Record<string, string | undefined> = process.env) {
  const child = Bun.spawn(argv, { cwd: packageDir, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, code };
}

test("the examples refer to nothing of this repository", () => {
  for (const { info, body } of blocks.filter((b) => b.info.startsWith("ts"))) {
    expect({ info, fixtures: /test\/|fixtures|\.\.\//.test(body) }).toEqual({
      info,
      fixtures: false,
    });
  }
});

test("the first example runs as written and prints its output block (stand-in cloudflared)", async () => {
  const code = block("ts");
  expect(code).toContain('from "@specter/process/testing"');
  // A PATH without cloudflared, so that a real one installed here is not used.
  const path = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !existsSync(join(dir, "cloudflared")))
    .join(delimiter);
  const result = await run([process.execPath, exampleFile("process", code)], {
    ...process.env,
    PATH: path,
  });
  expect(result).toEqual({ stdout: block(""), stderr: "", code: 0 });
}, 10_000);

test('the "Testing your code" file passes under bun test', async () => {
  const file = exampleFile("process-test", block("ts test"));
  const result = await run([process.execPath, "test", file]);
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({
    code: 0,
    stderr: expect.stringContaining(" 2 pass\n 0 fail\n"),
  });
}, 15_000);

test("both examples type-check (strict, with the repository's compiler settings)", async () => {
  const files = [
    exampleFile("process-tsc", block("ts")),
    exampleFile("test-tsc", block("ts test")),
  ];
  // The repository's tsconfig.json, pointed at these two files only (named .ts: gitignored).
  const config = join(packageDir, `.readme-example-tsconfig-${process.pid}.ts`);
  made.push(config);
  writeFileSync(config, JSON.stringify({ extends: "../../tsconfig.json", include: [], files }));
  const tsc = join(packageDir, "..", "..", "node_modules", ".bin", "tsc");
  const result = await run([tsc, "--noEmit", "-p", config]);
  expect(result).toEqual({ stdout: "", stderr: "", code: 0 });
}, 30_000);
