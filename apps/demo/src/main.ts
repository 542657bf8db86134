// Placeholder until the demo issue: shows one watcher working, then exits.
import { Watcher } from "@specter/watcher";

const watcher = new Watcher("clock", {
  poll: () => new Date().toISOString().slice(11, 19),
  interval: "1s",
});
watcher.subscribe((time) => console.log(`[demo] ${time}`));
watcher.start();
await Bun.sleep(3_000);
await watcher.stop();
console.log("[demo] stopped cleanly");
