/**
 * The status page's CSS, inlined so the page needs nothing but itself. One column under 600px:
 * each watcher or process becomes a small block whose long values wrap instead of scrolling.
 */
export const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #fff; --fg: #1b2130; --mute: #657085; --line: #e2e5ea;
  --ok: #137a3b; --ok-bg: #e3f5e9; --warn: #9a5800; --warn-bg: #fdf0dc;
  --bad: #bf2430; --bad-bg: #fde6e7; --mute-bg: #eceef2;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #101317; --card: #191e25; --fg: #e5e8ed; --mute: #97a1b2; --line: #2a313b;
    --ok: #5ad88a; --ok-bg: #173323; --warn: #f5bd4f; --warn-bg: #3a2c12;
    --bad: #ff8088; --bad-bg: #3d1b1e; --mute-bg: #262c35;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header, main, #activity { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding-top: 16px; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0; overflow-wrap: anywhere; }
h3 { font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--mute);
  margin: 14px 0 2px; font-weight: 600; }
a { color: inherit; }
.top { color: var(--mute); font-size: .9rem; display: flex; flex-wrap: wrap; gap: 4px 10px;
  align-items: center; }
.summary { margin: 12px 0; font-weight: 600; }
.svc { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 14px 16px; margin: 0 0 14px; }
.svc .svc { margin: 14px 0 0; border-left: 3px solid var(--line); border-radius: 6px;
  padding: 10px 0 4px 12px; border-top: 0; border-right: 0; border-bottom: 0; }
.svc-head { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; }
.svc-head .meta, .svc-head ul, .svc-head dl { flex-basis: 100%; margin: 2px 0 0; }
.badge { display: inline-block; font-size: .78rem; font-weight: 600; padding: 1px 8px;
  border-radius: 999px; background: var(--mute-bg); color: var(--mute); white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.meta { color: var(--mute); font-size: .85rem; }
.reasons { color: var(--bad); padding-left: 18px; font-size: .9rem; }
.err { color: var(--bad); }
dl.data { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0 12px;
  font-size: .9rem; }
dl.data dt { color: var(--mute); }
dl.data dd { margin: 0; }
ul.items { list-style: none; margin: 0; padding: 0; }
.item { display: grid; grid-template-columns: minmax(6rem, 13rem) 6.5rem minmax(0, 1fr);
  gap: 2px 12px; padding: 7px 0; border-top: 1px solid var(--line); align-items: baseline; }
.item .name { font-weight: 600; overflow-wrap: anywhere; }
.item .badge { justify-self: start; }
.item .meta { grid-column: 3; }
code, .value { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.value { overflow-wrap: anywhere; white-space: pre-wrap; }
.argv { color: var(--mute); }
#activity h2 { margin: 6px 0 8px; }
#events { list-style: none; margin: 0 0 32px; padding: 0; font-size: .9rem; }
#events li { display: grid; grid-template-columns: 6.5rem minmax(6rem, 13rem) minmax(0, 1fr);
  gap: 0 12px; padding: 4px 0; border-top: 1px solid var(--line); }
#events li.empty { display: block; color: var(--mute); }
#events .when { color: var(--mute); }
#events .what { overflow-wrap: anywhere; }
#events li.bad .what { color: var(--bad); }
#events li.warn .what { color: var(--warn); }
@media (max-width: 600px) {
  header, main, #activity { padding: 0 10px; }
  header { padding-top: 12px; }
  .svc { padding: 12px; }
  .item { grid-template-columns: minmax(0, 1fr) auto; }
  .item .value, .item .meta { grid-column: 1 / -1; }
  #events li { grid-template-columns: auto minmax(0, 1fr); }
  #events .what { grid-column: 1 / -1; }
}
`;
