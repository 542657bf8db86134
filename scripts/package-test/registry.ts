/**
 * A throwaway Verdaccio on 127.0.0.1: storage in the given folder, `@specter/*` readable and
 * publishable anonymously, nothing else served and no uplink (the consumer gets everything else
 * from npm through its own bunfig.toml scope mapping).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killGroup, tail } from "./proc.ts";

export interface Registry {
  url: string;
  pid: number;
  /** Verdaccio's own log so far. */
  log(): string;
  /** Stops Verdaccio (SIGTERM, then SIGKILL) and checks the port no longer answers. */
  stop(): Promise<string>;
  /** Last resort on a signal: SIGKILL to its group, no waiting. */
  killNow(): void;
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(1_000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startRegistry(repo: string, root: string, deadlineMs: number) {
  const dir = join(root, "registry");
  mkdirSync(dir, { recursive: true });
  const bin = join(repo, "node_modules", ".bin", "verdaccio");
  const node = Bun.which("node");
  if (!node) throw new Error("node is not on PATH: Verdaccio runs on Node.js");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run bun install (root devDependency)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = join(dir, "config.yaml");
  const logFile = join(dir, "verdaccio.log");
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, "storage"))}`,
      "auth:",
      `  htpasswd: { file: ${JSON.stringify(join(dir, "htpasswd"))}, max_users: -1 }`,
      "uplinks: {}",
      "packages:",
      "  '@specter/*': { access: $all, publish: $all, unpublish: $all }",
      "  '**': { access: $all, publish: $authenticated }",
      "log: { type: stdout, format: pretty, level: http }",
      "",
    ].join("\n"),
  );
  const logFd = openSync(logFile, "a"); // one descriptor: stdout and stderr interleave, in order
  const child = Bun.spawn([node, bin, "--config", config, "--listen", `127.0.0.1:${port}`], {
    cwd: dir,
    stdin: "ignore",
    stdout: logFd,
    stderr: logFd,
    detached: true,
  });
  closeSync(logFd);
  // If this script dies without cleaning up (SIGKILL), its end of the pipe closes, `read`
  // returns, and the guard takes Verdaccio's group down and removes the temporary root.
  const guard = Bun.spawn(
    [
      "sh",
      "-c",
      'read _; kill -KILL -"$1" 2>/dev/null; sleep 1; rm -rf "$2"',
      "sh",
      `${child.pid}`,
      root,
    ],
    { stdin: "pipe", stdout: "ignore", stderr: "ignore", detached: true },
  );
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const registry: Registry = {
    url,
    pid: child.pid,
    log,
    killNow() {
      killGroup(guard.pid);
      killGroup(child.pid);
    },
    async stop() {
      killGroup(guard.pid);
      killGroup(child.pid, "SIGTERM");
      const ended = await Promise.race([child.exited.then(() => true), Bun.sleep(5_000)]);
      if (!ended) killGroup(child.pid, "SIGKILL");
      await child.exited;
      killGroup(child.pid, "SIGKILL"); // anything it left in its group
      if (await answers(url)) throw new Error(`${url} still answers after Verdaccio was stopped`);
      return `pid ${child.pid} ${ended ? "exited on SIGTERM" : "SIGKILLed"}; ${url} no longer answers`;
    },
  };
  const deadline = performance.now() + deadlineMs;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (!(await answers(url))) {
    if (exited || performance.now() > deadline) {
      registry.killNow();
      await child.exited;
      const why = exited
        ? `exited with code ${child.exitCode}`
        : `no /-/ping within ${deadlineMs}ms`;
      throw new Error(`Verdaccio ${why}; its log:\n${tail(log())}`);
    }
    await Bun.sleep(100);
  }
  return registry;
}
