/**
 * A file-system watch on the folder of one file, for a source that also polls: it only hurries
 * the next check along. A folder that is missing (or a watch that fails) is not an error, because
 * the poll still finds what changed; the watch is tried again at the next check.
 */
import { type FSWatcher, watch } from "node:fs";

export class DirWatch {
  #watcher: FSWatcher | undefined;
  #closed = false;

  constructor(
    readonly dir: string,
    /** The file's name in `dir`: events for other files are ignored. */
    readonly name: string,
    readonly onEvent: () => void,
  ) {}

  /**
   * Starts the watch if it is not running; cheap to call before every check. Returns `true` when
   * it has just started: what changed before it did was not seen, so the caller checks again.
   */
  ensure(): boolean {
    if (this.#watcher || this.#closed) return false;
    try {
      // The folder, not the file: a watch on the file would miss a new file created at the path.
      const watcher = watch(this.dir, (_event, filename) => {
        if (filename === null || filename === this.name) this.onEvent();
      });
      watcher.on("error", () => {
        this.#drop();
        this.onEvent();
      });
      this.#watcher = watcher;
      return true;
    } catch {
      // No such folder yet, or no watches left: polling covers it.
      return false;
    }
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #drop(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    try {
      watcher?.close();
    } catch {
      // Already closed by its error.
    }
  }
}
