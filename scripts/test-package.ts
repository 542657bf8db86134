/**
 * `bun run test:package`: the packages as a user gets them. Starts a throwaway Verdaccio on
 * 127.0.0.1, builds, publishes every package to it with `bun publish`, creates a fresh consumer
 * project in a temporary folder whose bunfig.toml maps `@specter` to that registry (the rest comes
 * from npm), `bun add`s the packages, runs every README example there, runs a `bun test` of the
 * testing kit, type-checks with the test/consumer configurations, then stops Verdaccio and removes
 * everything. Prints a table of the steps and their times; last line
 * "test:package: N passed, M failed". `--keep` keeps the temporary folder for a look.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  KIT_TEST,
  packagesInOrder,
  readmeExamples,
  typesTargets,
} from "./package-test/consumer.ts";
import { explain, killGroup, run, running, tail } from "./package-test/proc.ts";
import { type Registry, startRegistry } from "./package-test/registry.ts";

const repo = join(import.meta.dir, "..");
const bun = process.execPath;
const keep = process.argv.includes("--keep");
const root = mkdtempSync(join(tmpdir(), "specter-test-package-"));
const consumer = join(root, "consumer");
const fixtures = join(repo, "test", "consumer");
const rootManifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const pkgs = packagesInOrder(repo);
const examples = readmeExamples(repo);
const MODES = ["bundler", "nodenext"] as const;

type Result = "ok" | "FAIL" | "skip";
const steps: { name: string; result: Result; ms: number; detail: string }[] = [];
const ms = (n: number) => (n < 1_000 ? `${Math.round(n)}ms` : `${(n / 1_000).toFixed(1)}s`);

/** Runs one step unless a step it needs failed; its detail on success, its reason on failure. */
async function step(name: string, fn: () => Promise<string>, needs = true): Promise<boolean> {
  if (!needs) {
    steps.push({ name, result: "skip", ms: 0, detail: "not run: a step it needs failed" });
    console.log(`- ${name}: skipped (a step it needs failed)`);
    return false;
  }
  const start = performance.now();
  try {
    const detail = await fn();
    const took = performance.now() - start;
    steps.push({ name, result: "ok", ms: took, detail });
    console.log(`✓ ${name} (${ms(took)}) ${detail}`);
    return true;
  } catch (e) {
    const took = performance.now() - start;
    const message = e instanceof Error ? e.message : String(e);
    steps.push({ name, result: "FAIL", ms: took, detail: message.split("\n")[0] as string });
    console.log(`✗ ${name} (${ms(took)})\n${message}`);
    return false;
  }
}

/** `argv` in `cwd`, time-boxed; throws with the tail of its output unless it exits 0. */
async function ok(argv: string[], cwd: string, timeoutMs: number, env?: Record<string, string>) {
  const r = await run(argv, { cwd, timeoutMs, ...(env ? { env } : {}) });
  if (r.code !== 0 || r.timedOut)
    throw new Error(explain(argv.map((a) => (a === bun ? "bun" : a)).join(" "), r, timeoutMs));
  return r;
}

let registry: Registry | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    registry?.killNow();
    for (const pgid of running) killGroup(pgid);
    rmSync(root, { recursive: true, force: true });
    console.log(`test:package: interrupted by ${signal}; Verdaccio stopped, ${root} removed`);
    process.exit(130);
  });

const started = performance.now();
console.log(`test:package: working in ${root}`);
try {
  const up = await step("start Verdaccio on 127.0.0.1", async () => {
    // Once more on a new port if Verdaccio exits at once (the free port was taken meanwhile).
    registry = await startRegistry(repo, root, 30_000).catch((e: Error) => {
      console.log(`  Verdaccio did not come up, retrying: ${e.message.split("\n")[0]}`);
      return startRegistry(repo, root, 30_000);
    });
    return `${registry.url} (pid ${registry.pid}), /-/ping answers`;
  });
  const url = registry?.url ?? "";
  const registryLog = () => `\n  Verdaccio log (tail):\n${tail(registry?.log() ?? "", 20)}`;

  await step("bun run build", async () => {
    if (!rootManifest.scripts?.build)
      throw new Error("the root package.json has no `build` script (it generates dist/*.d.ts)");
    await ok([bun, "run", "build"], repo, 300_000);
    const entries = pkgs.flatMap((p) => typesTargets(p.manifest).map((t) => ({ p, t })));
    const missing = entries.filter(({ p, t }) => !existsSync(join(p.dir, t)));
    if (missing.length)
      throw new Error(
        `built, but missing: ${missing.map(({ p, t }) => `${p.name}/${t}`).join(", ")}`,
      );
    return `${entries.length} types entries exist`;
  });

  const packed = new Map<string, string>();
  let published = up;
  for (const pkg of pkgs) {
    const done = await step(
      `bun publish ${pkg.name}`,
      async () => {
        const target = new URL(url);
        if (target.hostname !== "127.0.0.1" || target.protocol !== "http:")
          throw new Error(`refusing to publish to ${url}: not the local Verdaccio on 127.0.0.1`);
        const own = (pkg.manifest.publishConfig as { registry?: string } | undefined)?.registry;
        if (own) throw new Error(`refusing: publishConfig.registry is set (${own})`);
        const env = { NPM_CONFIG_TOKEN: "specter-package-test", NPM_CONFIG_REGISTRY: url };
        const r = await ok([bun, "publish", "--registry", url], pkg.dir, 120_000, env).catch(
          (e: Error) => Promise.reject(new Error(e.message + registryLog())),
        );
        const text = r.out + r.err;
        if (!text.includes(`Registry: ${url}`))
          throw new Error(`bun publish did not report Registry: ${url}:\n${tail(text)}`);
        packed.set(pkg.name, text);
        const files = /Total files: (\d+)/.exec(text)?.[1] ?? "?";
        const size = /Packed size: (\S+)/.exec(text)?.[1] ?? "?";
        return `${pkg.version}: ${files} files, ${size}`;
      },
      up,
    );
    published &&= done;
  }

  await step(
    "tarballs: LICENSE, types entries, exact @specter versions",
    async () => {
      const problems: string[] = [];
      for (const pkg of pkgs) {
        const files = new Set(
          [...(packed.get(pkg.name) ?? "").matchAll(/^packed \S+ (.+)$/gm)].map((m) => m[1]),
        );
        for (const f of ["package.json", "README.md", "LICENSE", ...typesTargets(pkg.manifest)])
          if (!files.has(f)) problems.push(`${pkg.name}: no ${f} in the tarball`);
        const doc = (await (await fetch(`${url}${pkg.name.replace("/", "%2f")}`)).json()) as {
          versions?: Record<string, { dependencies?: Record<string, string> }>;
        };
        const deps = doc.versions?.[pkg.version]?.dependencies ?? {};
        for (const [dep, range] of Object.entries(deps)) {
          const sibling = pkgs.find((p) => p.name === dep);
          if (sibling && range !== sibling.version)
            problems.push(`${pkg.name} depends on ${dep}@${range}, not exactly ${sibling.version}`);
        }
      }
      if (problems.length) throw new Error(problems.join("\n"));
      return `${pkgs.length} packages checked on ${url}`;
    },
    published,
  );

  const installed = await step(
    `consumer: bun add ${pkgs.map((p) => p.name).join(" ")}`,
    async () => {
      mkdirSync(consumer);
      if (existsSync(fixtures)) cpSync(fixtures, consumer, { recursive: true });
      const base = existsSync(join(consumer, "package.json"))
        ? JSON.parse(readFileSync(join(consumer, "package.json"), "utf8"))
        : {};
      const manifest = { name: "specter-consumer", private: true, ...base, type: "module" };
      writeFileSync(join(consumer, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
      writeFileSync(join(consumer, "bunfig.toml"), `[install.scopes]\n"@specter" = "${url}"\n`);
      const env = { BUN_INSTALL_CACHE_DIR: join(root, "bun-cache") }; // no stale @specter tarball
      const dev = ["typescript", "bun-types"].map(
        (d) => `${d}@${rootManifest.devDependencies?.[d]}`,
      );
      const add = [bun, "add", ...pkgs.map((p) => p.name)];
      await ok(add, consumer, 180_000, env).catch((e: Error) => {
        throw new Error(e.message + registryLog());
      });
      await ok([bun, "add", "-d", ...dev], consumer, 180_000, env);
      const lock = readFileSync(join(consumer, "bun.lock"), "utf8");
      const wrong = pkgs.filter(
        (p) => !lock.includes(`"${url}${p.name}/-/${p.name.split("/")[1]}-${p.version}.tgz"`),
      );
      if (wrong.length)
        throw new Error(`not installed from ${url}: ${wrong.map((p) => p.name).join(", ")}`);
      return `from ${url}, with ${dev.join(" ")}`;
    },
    published,
  );

  for (const ex of examples)
    await step(
      `${ex.readme} example #${ex.index}`,
      async () => {
        writeFileSync(join(consumer, ex.file), ex.code);
        const r = await ok([bun, ex.file], consumer, 30_000);
        if (r.err !== "") throw new Error(explain(`${ex.file} wrote to stderr`, r, 30_000));
        if (r.out.trim() === "") throw new Error(`${ex.file} printed nothing`);
        return `${ex.file}: ${r.out.trim().split("\n")[0]?.slice(0, 60)}`;
      },
      installed,
    );

  await step(
    "consumer: bun check.ts (every entry point; ends, leaves nothing)",
    async () => {
      if (!existsSync(join(consumer, "check.ts")))
        throw new Error("test/consumer/check.ts is missing");
      const r = await ok([bun, "check.ts"], consumer, 30_000);
      if (r.err !== "") throw new Error(explain("check.ts wrote to stderr", r, 30_000));
      const summary = JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}") as {
        leftovers?: unknown;
      };
      if (JSON.stringify(summary.leftovers) !== "[]")
        throw new Error(`check.ts left processes behind: ${JSON.stringify(summary.leftovers)}`);
      return "exit 0, leftovers []";
    },
    installed,
  );

  await step(
    "consumer: bun test of the testing kit",
    async () => {
      writeFileSync(join(consumer, "kit.test.ts"), KIT_TEST);
      const r = await ok([bun, "test", "./kit.test.ts"], consumer, 90_000);
      return `kit.test.ts: ${/(\d+) pass/.exec(r.err + r.out)?.[1] ?? "?"} pass`;
    },
    installed,
  );

  for (const mode of MODES)
    await step(
      `consumer: tsc --noEmit -p tsconfig.${mode}.json`,
      async () => {
        const config = `tsconfig.${mode}.json`;
        if (!existsSync(join(fixtures, config)))
          throw new Error(`test/consumer/${config} is missing`);
        // The fixture's options, over every .ts file of the consumer: check.ts, the README
        // examples and the kit test.
        const wrapper = `tsconfig.package-test.${mode}.json`;
        const files = [...new Bun.Glob("*.ts").scanSync(consumer)].sort();
        writeFileSync(join(consumer, wrapper), JSON.stringify({ extends: `./${config}`, files }));
        await ok([bun, "x", "tsc", "--noEmit", "-p", wrapper], consumer, 180_000);
        const readmes = files.filter((f) => f.startsWith("readme-")).length;
        const others = files.filter((f) => !f.startsWith("readme-"));
        return `clean: ${files.length} files (${others.join(", ")} and ${readmes} README examples)`;
      },
      installed,
    );
} finally {
  if (registry) await step("stop Verdaccio", () => (registry as Registry).stop());
  await step("remove the temporary folders", async () => {
    if (keep) return `kept ${root} (--keep)`;
    rmSync(root, { recursive: true, force: true });
    if (existsSync(root)) throw new Error(`${root} is still there`);
    return root;
  });
}

const w = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
console.log(`\nPackage test: ${ms(performance.now() - started)} in all\n`);
console.log(`${w("step", 58)} ${w("result", 6)} ${w("time", 7)} detail`);
console.log("-".repeat(150));
for (const s of steps)
  console.log(`${w(s.name, 58)} ${w(s.result, 6)} ${w(ms(s.ms), 7)} ${s.detail}`);
const passed = steps.filter((s) => s.result === "ok").length;
const failed = steps.filter((s) => s.result === "FAIL").length;
const skipped = steps.filter((s) => s.result === "skip").length;
if (skipped) console.log(`\n${skipped} steps not run because a step they need failed`);
console.log(`\ntest:package: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
