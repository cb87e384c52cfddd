/** The report's inline stylesheet (no external fonts or files: the page must work offline). */
export const REPORT_CSS = `
:root { --ink:#0f172a; --muted:#475569; --line:#e2e8f0; --bg:#f8fafc; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; font-family:'Helvetica Neue',Helvetica,Arial,'DejaVu Sans',sans-serif; color:var(--ink); background:var(--bg); line-height:1.45; }
header.top { background:#0f172a; color:#f8fafc; padding:22px 32px; }
header.top h1 { margin:0 0 4px; font-size:24px; }
header.top p { margin:0; color:#cbd5e1; font-size:13px; }
nav.toc { position:sticky; top:0; z-index:2; background:#ffffffee; border-bottom:1px solid var(--line); padding:8px 32px; font-size:13px; }
nav.toc a { color:var(--accent); text-decoration:none; margin-right:16px; white-space:nowrap; }
main { max-width:1280px; margin:0 auto; padding:8px 32px 48px; }
.report-section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px; margin:20px 0; }
.report-section h2 { margin:0 0 6px; font-size:20px; }
.report-section h3 { margin:18px 0 6px; font-size:16px; }
p.intro { margin:0 0 12px; color:var(--muted); font-size:14px; }
p.note, ul.notes { color:var(--muted); font-size:12.5px; }
ul.notes { margin:8px 0 0; padding-left:18px; }
p.missing, td.missing { color:#9a3412; background:#fff7ed; border:1px dashed #fdba74; border-radius:6px; padding:8px 12px; font-size:13.5px; }
table { border-collapse:collapse; font-size:13px; width:100%; }
th, td { border-bottom:1px solid var(--line); padding:5px 8px; text-align:left; vertical-align:top; }
th { background:#f1f5f9; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
span.ci { display:block; color:var(--muted); font-size:11px; }
tr.published td { color:#334155; background:#fafafa; }
tr.ours td:first-child { font-weight:600; }
div.cite { font-size:11px; color:var(--muted); font-weight:400; }
span.badge.different { display:inline-block; margin-left:6px; padding:1px 6px; border-radius:9px; font-size:11px; background:#fef3c7; color:#92400e; border:1px solid #fcd34d; }
figure.chart { margin:10px 0 16px; }
div.chart-frame { overflow-x:auto; }
/* Wide charts (the model diagram, the PR-curve grid) shrink to the content width; every SVG has a viewBox. */
div.chart-frame > svg { display:block; max-width:100%; height:auto; }
details.published { margin-top:8px; }
details.published summary { cursor:pointer; color:var(--accent); font-size:13px; }
figcaption { font-size:12.5px; color:var(--muted); margin-top:4px; }
div.examples { display:grid; grid-template-columns:repeat(auto-fill,minmax(380px,1fr)); gap:12px; }
article.example { display:flex; gap:12px; border:1px solid var(--line); border-radius:8px; padding:10px; background:#fff; }
article.example.right { border-left:4px solid #16a34a; }
article.example.wrong { border-left:4px solid #dc2626; }
.poster { width:96px; height:142px; flex:none; border-radius:4px; object-fit:cover; }
.poster.none { display:flex; align-items:center; justify-content:center; text-align:center; background:#e2e8f0; color:var(--muted); font-size:12px; }
.example-body h4 { margin:0 0 2px; font-size:14px; }
.example-body .id { color:var(--muted); font-weight:400; font-size:11px; }
.example-body p { margin:3px 0; font-size:12.5px; }
.example-body p.plot { color:#334155; }
.genres .k { display:inline-block; width:64px; color:var(--muted); }
.chip { display:inline-block; margin:1px 3px 1px 0; padding:0 6px; border-radius:8px; font-size:11.5px; border:1px solid; }
.chip.hit { background:#dcfce7; border-color:#86efac; color:#14532d; }
.chip.false { background:#fee2e2; border-color:#fca5a5; color:#7f1d1d; }
.chip.missed { background:#f1f5f9; border-color:#cbd5e1; color:#64748b; text-decoration:line-through; }
.chip.empty { background:#f8fafc; border-color:#e2e8f0; color:#64748b; }
h4.examples-title { margin:14px 0 6px; font-size:14px; color:#334155; }
table.runs td { font-size:12.5px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:16px; }
@media print {
  nav.toc { display:none; }
  body { background:#fff; }
  main { max-width:none; padding:0; }
  .report-section { border:none; padding:0; margin:12px 0; break-inside:auto; }
  figure.chart { break-inside:avoid; }
  div.chart-frame { overflow:visible; }
}
`;
