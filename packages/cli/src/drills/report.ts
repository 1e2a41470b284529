/**
 * The drill report: one JSON document (for machines and CI) and one self-contained HTML page (for
 * people: inline CSS and JS, no external assets, opens from a file:// URL) with the checks and a
 * filterable timeline. Both are written to `<dir>/<drill>-<timestamp>.{json,html}`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatOffset, type TimelineEntry } from './timeline.js';

export type DrillResult = 'PASS' | 'FAIL';

export interface CheckRecord {
  /** What must hold, in words: "a new etcd leader within 3000 ms". */
  name: string;
  /** The stage it belongs to (its inject/check pair), or `recovery` for checks after healing. */
  stage: string;
  ok: boolean;
  /** How long the check was allowed to take (0: an immediate assertion). */
  deadlineMs: number;
  /** How long it took to pass or to fail. */
  elapsedMs: number;
  /** Offset of the check's end from the drill's start. */
  t: number;
  /** What was seen: the value that satisfied it, or why it failed. */
  detail: string;
}

export interface DrillReport {
  drill: string;
  title: string;
  description: string;
  result: DrillResult;
  /** ISO time of the start. */
  startedAt: string;
  durationMs: number;
  cluster: Record<string, string | number>;
  checks: CheckRecord[];
  timeline: TimelineEntry[];
  /** Set when the drill could not run to the end (an exception outside a check, or a failed heal). */
  error?: string;
}

export interface WrittenReport {
  json: string;
  html: string;
}

/** `2026-11-22T08:30:01.123Z` → `20261122-083001` (sorts by time, safe in file names). */
export function fileTimestamp(iso: string): string {
  return iso
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

export function writeReport(report: DrillReport, dir: string): WrittenReport {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${report.drill}-${fileTimestamp(report.startedAt)}`);
  const json = `${base}.json`;
  const html = `${base}.html`;
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(html, renderHtml(report));
  return { json, html };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** JSON inside a <script> block: `</script>` and `<!--` in a message must not end or comment it. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{padding:18px 28px;background:#1d2330;color:#fff}
header h1{margin:0 0 4px;font-size:20px}
header p{margin:0;color:#c5cad6}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:700;margin-left:10px;font-size:14px}
.PASS{background:#1f9d55;color:#fff}.FAIL{background:#d64545;color:#fff}
main{padding:18px 28px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:14px 18px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#556}
td.t{font-family:ui-monospace,Menlo,monospace;white-space:nowrap;color:#556;text-align:right}
td.src{font-family:ui-monospace,Menlo,monospace;white-space:nowrap}
tr.k-phase td{background:#eef3fb;font-weight:600}
tr.k-fault td{background:#fff1e6}
tr.k-pass td.msg{color:#1f7a45}
tr.k-fail td{background:#fdecec;color:#a12a2a}
tr.k-action td.msg{color:#234f9b}
.ok{color:#1f7a45;font-weight:700}.bad{color:#a12a2a;font-weight:700}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}
dt{color:#556}dd{margin:0}
#filters label{margin-right:12px;font-size:13px;user-select:none}
#bar{position:relative;height:26px;background:#f0f2f5;border-radius:4px;margin:6px 0 12px}
#bar span{position:absolute;top:3px;width:3px;height:20px;border-radius:1px}
pre{white-space:pre-wrap;background:#fdecec;padding:8px;border-radius:4px}
`;

const JS = `
const report = JSON.parse(document.getElementById('report-data').textContent);
const rows = document.querySelectorAll('#timeline tbody tr');
const boxes = document.querySelectorAll('#filters input');
function apply() {
  const on = new Set([...boxes].filter(b => b.checked).map(b => b.value));
  const q = document.getElementById('q').value.toLowerCase();
  rows.forEach(r => {
    const show = on.has(r.dataset.kind) && (!q || r.textContent.toLowerCase().includes(q));
    r.style.display = show ? '' : 'none';
  });
}
boxes.forEach(b => b.addEventListener('change', apply));
document.getElementById('q').addEventListener('input', apply);
const bar = document.getElementById('bar');
const total = Math.max(1, report.durationMs);
const colors = {phase:'#6b8fd6', fault:'#e8893a', pass:'#1f9d55', fail:'#d64545', action:'#234f9b', observed:'#9aa3b2', note:'#c5cad6'};
for (const e of report.timeline) {
  if (e.kind === 'observed' || e.kind === 'note') continue;
  const s = document.createElement('span');
  s.style.left = (100 * e.t / total) + '%';
  s.style.background = colors[e.kind] || '#999';
  s.title = '+' + (e.t / 1000).toFixed(3) + 's ' + e.source + ': ' + e.message;
  bar.appendChild(s);
}
`;

/** The whole page as one string. Every piece of report text is escaped; the data rides along as JSON. */
export function renderHtml(r: DrillReport): string {
  const passed = r.checks.filter((c) => c.ok).length;
  const checks = r.checks
    .map(
      (c) =>
        `<tr><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? 'PASS' : 'FAIL'}</td><td>${escapeHtml(c.stage)}</td>` +
        `<td>${escapeHtml(c.name)}</td><td class="t">${c.deadlineMs > 0 ? `${c.deadlineMs} ms` : '—'}</td>` +
        `<td class="t">${c.elapsedMs} ms</td><td class="t">${formatOffset(c.t)}</td><td>${escapeHtml(c.detail)}</td></tr>`,
    )
    .join('\n');
  const timeline = r.timeline
    .map(
      (e) =>
        `<tr class="k-${e.kind}" data-kind="${e.kind}"><td class="t" title="${escapeHtml(e.at)}">${formatOffset(e.t)}</td>` +
        `<td>${e.kind}</td><td class="src">${escapeHtml(e.source)}</td><td class="msg">${escapeHtml(e.message)}</td></tr>`,
    )
    .join('\n');
  const kinds = ['phase', 'fault', 'action', 'observed', 'pass', 'fail', 'note'];
  const filters = kinds.map((k) => `<label><input type="checkbox" value="${k}" checked> ${k}</label>`).join('');
  const cluster = Object.entries(r.cluster)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>kemu drill ${escapeHtml(r.drill)}: ${r.result}</title>
<style>${CSS}</style></head>
<body>
<header><h1>${escapeHtml(r.title)}<span class="badge ${r.result}">${r.result}</span></h1>
<p>drill <b>${escapeHtml(r.drill)}</b> · started ${escapeHtml(r.startedAt)} · ${(r.durationMs / 1000).toFixed(1)} s · ${passed}/${r.checks.length} checks passed</p></header>
<main>
<section><h2>What this drill shows</h2><p>${escapeHtml(r.description)}</p><dl>${cluster}</dl>
${r.error ? `<h2>Error</h2><pre>${escapeHtml(r.error)}</pre>` : ''}</section>
<section><h2>Checks</h2><table id="checks"><thead><tr><th>result</th><th>stage</th><th>expectation</th><th>deadline</th><th>took</th><th>at</th><th>detail</th></tr></thead>
<tbody>
${checks}
</tbody></table></section>
<section><h2>Timeline</h2><div id="bar" title="phases, faults, actions and checks over the drill's duration"></div>
<div id="filters">${filters} <input id="q" type="search" placeholder="filter text"></div>
<table id="timeline"><thead><tr><th>time</th><th>kind</th><th>source</th><th>what happened</th></tr></thead>
<tbody>
${timeline}
</tbody></table></section>
</main>
<script type="application/json" id="report-data">${scriptJson(r)}</script>
<script>${JS}</script>
</body></html>
`;
}
