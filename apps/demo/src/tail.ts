/**
 * Follows a growing log file like `tail -F`: yields each new line; when the file shrinks (it was
 * truncated or replaced) it starts again from the top. Runs in a Worker as a stream source.
 */
import type { SourceContext } from "@specter/watcher";

export type TailItem = { kind: "line"; text: string } | { kind: "truncated" };

export async function* tailFile(
  path: string,
  every: number,
  { signal }: SourceContext,
): AsyncGenerator<TailItem> {
  let offset = 0;
  let partial = "";
  let decoder = new TextDecoder();
  while (!signal.aborted) {
    const file = Bun.file(path);
    const size = file.size;
    if (size < offset) {
      offset = 0;
      partial = "";
      decoder = new TextDecoder();
      yield { kind: "truncated" };
    }
    if (size > offset) {
      const text =
        partial + decoder.decode(await file.slice(offset, size).bytes(), { stream: true });
      offset = size;
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) yield { kind: "line", text: line };
      continue;
    }
    await Bun.sleep(every);
  }
}
