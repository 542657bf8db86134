/**
 * Who may read the status endpoint: the bearer token (header anywhere, `?token=` only on the
 * stream and the page), and the refusal to serve a non-loopback address without one.
 */
import { describe, expect, test } from "bun:test";
import { OptionsError } from "@specter/core";
import { Hono } from "hono";
import { createStatusApp, ErrorResponse, Registry, Service, serveStatus } from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";

const cleanups = cleanupAfterEach();

async function secured() {
  const registry = new Registry();
  await registry.register(new Service("monitor", {})).start();
  cleanups.push(() => registry.stop());
  const server = serveStatus({ registry, token: "s3cret", metrics: true });
  cleanups.push(() => server.stop());
  const status = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(path, server.url), { headers });
    if (path.startsWith("/events") && res.ok) await res.body?.cancel();
    else await res.arrayBuffer();
    return res.status;
  };
  return { registry, server, status };
}

/** A port nothing listens on now (taken, then let go). */
async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}

describe("the token", () => {
  test("?token= is accepted on /events and the page only; elsewhere it is 401 and says why", async () => {
    const { server, status } = await secured();
    expect(await status("/events?token=s3cret")).toBe(200);
    expect(await status("/?token=s3cret")).toBe(200);
    for (const path of ["/status", "/status/monitor", "/healthz", "/metrics"]) {
      expect(await status(`${path}?token=s3cret`)).toBe(401);
      expect(await status(path, { Authorization: "Bearer s3cret" })).toBe(200);
    }
    const res = await fetch(new URL("/status?token=s3cret", server.url));
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(ErrorResponse.parse(await res.json()).error).toBe(
      "unauthorized: send Authorization: Bearer <token>; ?token= is accepted only on /events and the page",
    );
    expect(await status("/events?token=wrong")).toBe(401);
  });

  test("the scheme is case-insensitive on every route, the stream too", async () => {
    const { status } = await secured();
    for (const scheme of ["bearer", "BEARER", "BeArEr"]) {
      for (const path of ["/status", "/healthz", "/events", "/"]) {
        expect(await status(path, { authorization: `${scheme} s3cret` })).toBe(200);
      }
    }
    expect(await status("/status", { authorization: "bearer s3cret2" })).toBe(401);
    expect(await status("/status", { authorization: "bearers3cret" })).toBe(401);
  });

  test("mounted under a prefix, the same routes take ?token=", async () => {
    const registry = new Registry();
    const outer = new Hono().route("/specter", createStatusApp({ registry, token: "s3cret" }));
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      fetch: outer.fetch,
    });
    cleanups.push(() => server.stop(true));
    const status = async (path: string) => {
      const res = await fetch(new URL(path, server.url));
      await res.body?.cancel();
      return res.status;
    };
    expect(await status("/specter/events?token=s3cret")).toBe(200);
    expect(await status("/specter?token=s3cret")).toBe(200);
    expect(await status("/specter/status?token=s3cret")).toBe(401);
  });

  test("the page's links do not carry the token", async () => {
    const { server } = await secured();
    const page = await (await fetch(new URL("/?token=s3cret", server.url))).text();
    expect(page).not.toContain("s3cret");
    expect(page).not.toContain("data-link");
    expect(page).toContain("/status · /healthz (with Authorization: Bearer)");
  });
});

describe("listening beyond loopback", () => {
  test("a non-loopback hostname without a token is refused, and nothing listens", async () => {
    const registry = new Registry();
    const port = await freePort();
    for (const hostname of ["0.0.0.0", "::", "192.168.1.20", "10.0.0.7", "status.example"]) {
      let error: unknown;
      try {
        serveStatus({ registry, hostname, port });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OptionsError);
      const message = (error as Error).message;
      expect(message).toContain(`serveStatus: option "hostname" got ${JSON.stringify(hostname)}`);
      expect(message).toContain("set token, or allowUnauthenticated: true");
    }
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test("loopback needs no token: 127.0.0.0/8 and localhost", async () => {
    const registry = new Registry();
    for (const hostname of ["127.0.0.1", "127.0.0.2", "localhost"]) {
      const server = serveStatus({ registry, hostname });
      cleanups.push(() => server.stop());
      expect((await fetch(new URL("/healthz", server.url))).status).toBe(200);
    }
  });

  test("with a token or allowUnauthenticated: true, serveStatus goes on to listen", async () => {
    // A port held on 127.0.0.1 makes listening on 0.0.0.0 fail: the listen was tried, and no
    // test opens a port to the network.
    const hold = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    cleanups.push(() => hold.stop(true));
    const registry = new Registry();
    const port = hold.port as number;
    for (const extra of [{ token: "s3cret" }, { allowUnauthenticated: true }]) {
      expect(() => serveStatus({ registry, hostname: "0.0.0.0", port, ...extra })).toThrow(
        `serveStatus: cannot listen on 0.0.0.0:${port}`,
      );
    }
    expect(() =>
      serveStatus({ registry, hostname: "0.0.0.0", allowUnauthenticated: "yes" as never }),
    ).toThrow('option "allowUnauthenticated" got "yes": expected true or false');
  });
});
