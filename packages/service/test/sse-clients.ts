/**
 * Clients of `/events` for the abuse tests and the fault suite: a count of the stream listeners a
 * registry holds, and a client in a child process that sends its request and reads nothing until
 * told to (a client inside this process would be read by Bun's own fetch, which buffers).
 */
import { waitFor } from "@specter/core/testing";
import type { Registry } from "../src/index.ts";

/** Counts the `onActivity` listeners added from now on and not yet removed. */
export function countListeners(registry: Registry): () => number {
  let listening = 0;
  const onActivity = registry.onActivity.bind(registry);
  registry.onActivity = (fn) => {
    listening++;
    const off = onActivity(fn);
    let removed = false;
    return () => {
      if (!removed) listening--;
      removed = true;
      off();
    };
  };
  return () => listening;
}

export interface StalledClient {
  /** Starts reading; returns what has been read so far, growing as more comes. */
  read(): () => string;
  /** Ends the child (idempotent). */
  kill(): Promise<void>;
}

/**
 * Opens `GET <path>` on 127.0.0.1:`port` from a bash child that reads nothing until `read()`
 * (a line on its stdin), then copies the socket to its stdout.
 */
export async function stalledClient(port: number, path = "/events"): Promise<StalledClient> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port}
printf 'GET ${path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3
echo sent
read -r go
exec cat <&3`;
  const child = Bun.spawn(["bash", "-c", script], { stdin: "pipe", stdout: "pipe" });
  const reader = child.stdout.getReader();
  const first = await reader.read();
  if (new TextDecoder().decode(first.value) !== "sent\n") {
    child.kill("SIGKILL");
    throw new Error("the stalled client could not connect");
  }
  return {
    read() {
      child.stdin.write("go\n");
      child.stdin.end();
      const decoder = new TextDecoder();
      let text = "";
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += decoder.decode(value, { stream: true });
        }
      })().catch(() => {});
      return () => text;
    },
    async kill() {
      child.kill("SIGKILL");
      await child.exited;
    },
  };
}

/** The `data:` JSON of each whole SSE event named `event` in `text` (an unfinished one is left). */
export function eventsIn(text: string, event: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split("\n\n").slice(0, -1)) {
    const name = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (name === event && data !== undefined) out.push(JSON.parse(data));
  }
  return out;
}

export interface SseFrame {
  event: string;
  /** The `data:` line as sent. */
  line: string;
  data: Record<string, unknown>;
}

/**
 * Follows `GET <url>` (an `/events` stream) until `close()`: its whole frames, as they arrive, once
 * the "hello" came.
 */
export async function followEvents(
  url: string | URL,
): Promise<{ frames: SseFrame[]; close(): Promise<void> }> {
  const res = await fetch(url);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const frames: SseFrame[] = [];
  let buffer = "";
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const line = /^data: (.*)$/m.exec(block)?.[1];
        if (event && line) frames.push({ event, line, data: JSON.parse(line) });
      }
    }
  })().catch(() => {});
  const close = async () => {
    await reader.cancel().catch(() => {});
    await pump;
  };
  await waitFor(() => frames.some((f) => f.event === "hello"), { message: "the hello event" });
  return { frames, close };
}
