/**
 * `bun run bench`: runs every `bench/*.bench.ts` in its own process (so one cannot skew another),
 * prints their tables and writes all results to `bench/results.json`.
 *
 * Contract for a bench file: print a table to stdout, and write a JSON object of its results to
 * the path in `BENCH_OUT`. Run one alone with `bun bench/<name>.bench.ts`.
 */
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = import.meta.dir;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results: Record<string, unknown> = {
  machine: { cpus: navigator.hardwareConcurrency, bun: Bun.version, platform: process.platform },
  at: new Date().toISOString(),
};
let failed = 0;
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, "");
  const out = join(tmpdir(), `specter-bench-${name}-${process.pid}.json`);
  console.log(`\n## ${name}\n`);
  const child = Bun.spawn([process.execPath, join(dir, file)], {
    env: { ...process.env, BENCH_OUT: out },
    stdout: "inherit",
    stderr: "inherit",
  });
  const code = await child.exited;
  if (code !== 0) {
    failed++;
    console.error(`bench ${name} exited with code ${code}`);
    continue;
  }
  const outFile = Bun.file(out);
  results[name] = await outFile.json();
  await outFile.delete();
}
await Bun.write(join(dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote bench/results.json (${files.length - failed}/${files.length} benches)`);
process.exit(failed === 0 ? 0 : 1);
