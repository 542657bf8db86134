/**
 * `bun run build`: the declarations (`dist/**\/*.d.ts`) of every package under packages/, or of
 * the ones named (`bun scripts/build-types.ts service`, with the packages it depends on), and the
 * root LICENSE copied beside each package's README, so both go into its tarball. Each package
 * is compiled by tsc (`tsconfig.build.json`) after those it imports, against their `dist/`, as a
 * user's compiler will see them. Relative imports in the output end in `.js`, which every
 * `moduleResolution` reads as the `.d.ts` beside it. A package's `dist/` is replaced whole, so a
 * run is the same from a clean checkout or over an old build.
 */
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const tsc = join(root, "node_modules", ".bin", "tsc");

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
}

interface Pkg {
  dir: string;
  manifest: Manifest;
  deps: string[];
}

const all = new Map<string, Pkg>();
for (const name of readdirSync(join(root, "packages")).sort()) {
  const dir = join(root, "packages", name);
  if (!existsSync(join(dir, "tsconfig.build.json"))) continue;
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
  const deps = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith("@specter/"));
  all.set(name, { dir, manifest, deps });
}
const byName = new Map([...all.values()].map((p) => [p.manifest.name, p]));

/** The packages asked for and those they depend on, each after its dependencies. */
function inOrder(wanted: string[]): Pkg[] {
  const order: Pkg[] = [];
  const visit = (pkg: Pkg, path: string[]) => {
    if (order.includes(pkg)) return;
    if (path.includes(pkg.manifest.name))
      throw new Error(`a dependency cycle: ${[...path, pkg.manifest.name].join(" -> ")}`);
    for (const dep of pkg.deps) {
      const target = byName.get(dep);
      if (!target) throw new Error(`${pkg.manifest.name} depends on ${dep}, not under packages/`);
      visit(target, [...path, pkg.manifest.name]);
    }
    order.push(pkg);
  };
  for (const name of wanted) {
    const pkg = all.get(name) ?? byName.get(name);
    if (!pkg) throw new Error(`no package "${name}" (there are: ${[...all.keys()].join(", ")})`);
    visit(pkg, []);
  }
  return order;
}

/** `from "./x.ts"` and `import("./x.ts")` in a declaration file, to `./x.js`. */
function rewriteSpecifiers(dir: string): void {
  for (const file of new Bun.Glob("**/*.d.ts").scanSync(dir)) {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    const rewritten = text.replace(
      /(\bfrom\s*|\bimport\(\s*)(["'])(\.\.?\/[^"']*?)\.ts\2/g,
      (_, lead: string, quote: string, stem: string) => `${lead}${quote}${stem}.js${quote}`,
    );
    if (rewritten !== text) writeFileSync(path, rewritten);
  }
}

/** Every `types` path of the package's `exports` now exists. */
function checkEntries(pkg: Pkg): void {
  const missing: string[] = [];
  for (const [entry, target] of Object.entries(pkg.manifest.exports ?? {})) {
    const types = typeof target === "string" ? undefined : target.types;
    if (types === undefined) missing.push(`${entry}: no "types" condition`);
    else if (!existsSync(join(pkg.dir, types))) missing.push(`${entry}: ${types} was not emitted`);
  }
  if (missing.length) throw new Error(`${pkg.manifest.name}: ${missing.join("; ")}`);
}

async function build(pkg: Pkg): Promise<void> {
  const temp = join(pkg.dir, `.dist-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  try {
    const child = Bun.spawn(
      [tsc, "-p", join(pkg.dir, "tsconfig.build.json"), "--outDir", temp, "--pretty", "false"],
      { cwd: root, stdout: "pipe", stderr: "pipe" },
    );
    const [code, out, err] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    if (code !== 0) throw new Error(`tsc failed for ${pkg.manifest.name}:\n${out}${err}`);
    rewriteSpecifiers(temp);
    const dist = join(pkg.dir, "dist");
    rmSync(dist, { recursive: true, force: true });
    renameSync(temp, dist);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  copyFileSync(join(root, "LICENSE"), join(pkg.dir, "LICENSE"));
  checkEntries(pkg);
}

const started = performance.now();
const wanted = process.argv.slice(2);
const order = inOrder(wanted.length ? wanted : [...all.keys()]);
// Packages whose dependencies are built go together, each in its own tsc.
const done = new Set<Pkg>();
while (done.size < order.length) {
  const ready = order.filter(
    (p) => !done.has(p) && p.deps.every((d) => done.has(byName.get(d) as Pkg)),
  );
  await Promise.all(
    ready.map(async (pkg) => {
      const t = performance.now();
      await build(pkg);
      const files = [...new Bun.Glob("**/*.d.ts").scanSync(join(pkg.dir, "dist"))].length;
      const where = relative(root, join(pkg.dir, "dist"));
      console.log(
        `${pkg.manifest.name}: ${files} declaration files in ${where} (${Math.round(performance.now() - t)}ms)`,
      );
    }),
  );
  for (const pkg of ready) done.add(pkg);
}
console.log(`built ${order.length} packages in ${Math.round(performance.now() - started)}ms`);
