/**
 * The demo's supervised child: a small "worker" that reports progress on stdout, complains now and
 * then on stderr, and crashes after a few seconds so the restart policy can be seen working.
 */
const lifetime = 2_500 + Math.random() * 3_000;
const started = Date.now();
let jobs = 0;
console.log(`ready (pid ${process.pid})`);
const timer = setInterval(() => {
  jobs++;
  console.log(`processed job ${jobs}`);
  if (jobs % 3 === 0) console.error(`warning: queue depth ${10 + jobs * 7}`);
  if (Date.now() - started > lifetime) {
    clearInterval(timer);
    console.error("fatal: lost connection to the queue");
    process.exit(1);
  }
}, 700);
process.on("SIGTERM", () => {
  console.log("SIGTERM: finishing the current job");
  clearInterval(timer);
  process.exit(0);
});
