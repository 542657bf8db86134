import { afterEach, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, fixture } from "./helpers.ts";

const made: string[] = [];
afterEach(async () => {
  for (const path of made.splice(0)) rmSync(path, { recursive: true, force: true });
  await cleanup();
});

test("the README example runs as written (against a stand-in cloudflared)", async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const blocks = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  const code = blocks.find(([, lang]) => lang === "ts")?.[2];
  const output = blocks.find(([, lang]) => lang === "")?.[2];
  if (!code || !output) throw new Error("README.md has no ts example and output block");
  expect(code).toContain('proc.start([cloudflared, "tunnel", "--url", "http://127.0.0.1:5000"]');

  // A cloudflared on PATH that behaves like the real one (so a real one installed here is not used).
  const bin = mkdtempSync(join(tmpdir(), "specter-bin-"));
  made.push(bin);
  copyFileSync(fixture("fake-cloudflared.sh"), join(bin, "cloudflared"));
  chmodSync(join(bin, "cloudflared"), 0o755);
  // In the README's folder, as a user would run it (gitignored).
  const example = new URL(`../.readme-example-${process.pid}.ts`, import.meta.url).pathname;
  made.push(example);
  writeFileSync(example, code);

  const child = Bun.spawn([process.execPath, example], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code_] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect(stderr).toBe("");
  expect(code_).toBe(0);
  expect(stdout).toBe(output);
}, 10_000);
