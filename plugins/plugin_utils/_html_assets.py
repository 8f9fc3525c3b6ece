# Copyright: contributors to refarch.containers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML dashboard's only script and style sheet (``_html``), kept apart from the page's markup.

Both are constants: the page's Content-Security-Policy allows them by their sha256 alone.
"""

from __future__ import annotations

# The page's only script: it shows the filter bar and hides the finding rows, targets and hosts
# that do not match.  It holds no data (it reads the page's own data-* attributes and option
# values, writes only ``hidden``/``open`` and a count through textContent), and the CSP allows it
# by its hash alone, so no injected script can run beside it.
JS = """
(function () {
  "use strict";
  var bar = document.getElementById("filter");
  if (!bar || !window.URLSearchParams) { return; }
  var f = {rule: document.getElementById("f-rule"), severity: document.getElementById("f-severity"),
           host: document.getElementById("f-host"), q: document.getElementById("f-q")};
  var count = document.getElementById("filter-count");
  var index = null;
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function build() {
    index = [];
    each(document.querySelectorAll("details.host"), function (h) {
      var name = h.getAttribute("data-h") || "", targets = [];
      each(h.querySelectorAll("details.target"), function (t) {
        var where = (t.getAttribute("data-t") || "") + " " + name, rows = [];
        each(t.querySelectorAll("tr[data-r]"), function (r) {
          rows.push({el: r, rule: r.getAttribute("data-r"), sev: r.getAttribute("data-s"),
                     text: (r.textContent + " " + where).toLowerCase()});
        });
        targets.push({el: t, rows: rows});
      });
      index.push({el: h, name: name, targets: targets});
    });
  }
  function apply(remember) {
    if (!index) { build(); }
    var rule = f.rule.value, sev = f.severity.value, host = f.host.value;
    var q = f.q.value.trim().toLowerCase(), active = !!(rule || sev || host || q), shown = 0, total = 0;
    index.forEach(function (h) {
      var hostOk = !host || h.name === host, any = false;
      h.targets.forEach(function (t) {
        var hit = false;
        t.rows.forEach(function (r) {
          var ok = hostOk && (!rule || r.rule === rule) && (!sev || r.sev === sev) && (!q || r.text.indexOf(q) >= 0);
          total += 1;
          r.el.hidden = !ok;
          if (ok) { shown += 1; hit = true; }
        });
        t.el.hidden = active && !hit;
        if (active && hit) { t.el.open = true; }
        any = any || !t.el.hidden;
      });
      h.el.hidden = active && !any;
      if (active && any) { h.el.open = true; }
    });
    count.textContent = active ? shown + " of " + total + " findings match" : total + " findings";
    document.body.setAttribute("data-filtered", active ? String(shown) : "");
    if (remember && window.history && history.replaceState) {
      var p = new URLSearchParams();
      ["rule", "severity", "host", "q"].forEach(function (k) { if (f[k].value) { p.set(k, f[k].value); } });
      history.replaceState(null, "", p.toString() ? "#" + p.toString() : location.pathname + location.search);
    }
    return active;
  }
  var preset = new URLSearchParams(location.search), hash = location.hash.slice(1);
  if (hash.indexOf("=") >= 0) { new URLSearchParams(hash).forEach(function (v, k) { preset.set(k, v); }); }
  ["rule", "severity", "host", "q"].forEach(function (k) {
    if (preset.has(k)) { f[k].value = preset.get(k); }
    f[k].addEventListener(k === "q" ? "input" : "change", function () { apply(true); });
  });
  bar.hidden = false;
  apply(false);
}());
""".strip()

CSS = """
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--ok:#16a34a;--bad:#dc2626;
--accent:#0f766e}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;background:var(--bg);color:var(--ink);
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif;line-height:1.45}
header.top{background:#0f172a;color:#f8fafc;padding:22px 32px 18px}
header.top h1{margin:0 0 4px;font-size:1.55rem;font-weight:650;letter-spacing:-.01em}
header.top .meta{color:#cbd5e1;font-size:.86rem}
header.top .meta span{margin-right:18px;white-space:nowrap}
header.top .meta b{color:#f8fafc;font-weight:600}
main{max-width:1280px;margin:0 auto;padding:22px 32px 40px}
section{margin:0 0 26px}
h2{font-size:1.12rem;margin:0 0 10px;font-weight:650}
h2 .count{color:var(--muted);font-weight:500;font-size:.9rem;margin-left:6px}
h3{font-size:1rem;margin:0;font-weight:600}
.kpis{display:grid;grid-template-columns:repeat(6,minmax(0,1fr));gap:12px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.kpi .kpi-value{font-size:1.9rem;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
.kpi .kpi-label{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;margin-top:2px}
.kpi .kpi-sub{font-size:.8rem;color:var(--muted);margin-top:6px}
.kpi.good .kpi-value{color:var(--ok)}
.kpi.bad .kpi-value{color:var(--bad)}
.kpi.warn .kpi-value{color:#b45309}
.panels{display:grid;grid-template-columns:1fr 1fr 1fr;gap:12px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px}
.chart{display:flex;align-items:center;gap:18px}
.legend{list-style:none;margin:0;padding:0;font-size:.88rem}
.legend li{display:flex;align-items:center;gap:8px;margin:3px 0}
.legend .n{margin-left:auto;font-variant-numeric:tabular-nums;font-weight:600;padding-left:14px}
.tw{overflow-x:auto;border:1px solid var(--line);border-radius:10px;background:var(--card)}
table{width:100%;border-collapse:collapse;background:var(--card);font-size:.88rem}
.target .tw{border-radius:6px}
td.host{max-width:360px;overflow-wrap:anywhere}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f1f5f9;color:#334155;font-weight:600;font-size:.78rem;text-transform:uppercase;letter-spacing:.04em}
tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.bar{width:150px}
td.nowrap,th.nowrap{white-space:nowrap}
table.fixed{table-layout:fixed}table.fixed td{overflow-wrap:anywhere}
col.c-status{width:130px}col.c-date{width:110px}col.c-src{width:80px}
col.c-host{width:150px}col.c-target{width:260px}col.c-owner{width:140px}
col.c-sev{width:120px}col.c-rule{width:80px}col.c-line{width:56px}col.c-fix{width:260px}
.small{font-size:.8rem}
.gap{height:12px}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.82rem;
overflow-wrap:anywhere}
.pre{white-space:pre-wrap;overflow-wrap:anywhere}
.muted{color:var(--muted)}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:.74rem;font-weight:600;color:#fff;
white-space:nowrap;text-transform:uppercase;letter-spacing:.03em}
.sev-critical{background:#7f1d1d}.sev-high{background:#dc2626}.sev-medium{background:#ea8a0c}
.sev-low{background:#2563eb}.sev-info{background:#64748b}
.st-ok,.st-compliant,.st-active{background:#16a34a}.st-unreachable{background:#9333ea}
.st-failed,.st-noncompliant,.st-expired{background:#dc2626}.st-error{background:#b45309}
.st-expiring{background:#ea8a0c}.st-waived{background:#94a3b8}.kind{background:#334155}
.st-new{background:#dc2626}.st-fixed{background:#16a34a}.st-open{background:#64748b}.st-unknown{background:#9333ea}
.st-not_node,.ns-not_node{background:#94a3b8}.ns-node{background:#15803d}.ns-unknown{background:#a16207}
details.host{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:0 0 10px}
details.host>summary{cursor:pointer;padding:11px 16px;display:flex;gap:10px;align-items:center;list-style:none}
details.host>summary::-webkit-details-marker{display:none}
details.host>summary::before{content:"\\25B8";color:var(--muted);width:12px}
details.host[open]>summary::before{content:"\\25BE"}
details.host>summary .right{margin-left:auto;color:var(--muted);font-size:.85rem}
.target{border-top:1px solid var(--line);padding:10px 16px 14px}
.target .thead{display:flex;gap:10px;align-items:baseline;margin-bottom:8px;flex-wrap:wrap}
.target .sha{color:var(--muted);font-size:.78rem}
tr.waived td{color:#94a3b8}
tr.waived td .badge{opacity:.6}
.fix{font-size:.82rem}
.fix code{background:#f1f5f9;border-radius:4px;padding:0 5px}
.note{background:#fff7ed;border:1px solid #fed7aa;border-radius:10px;padding:10px 14px;font-size:.88rem}
.note.incomplete{background:#fef2f2;border-color:#fca5a5}
.empty{color:var(--muted);font-style:italic;padding:8px 0}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:0 0 30px}
[hidden]{display:none!important}
details.sec>summary{cursor:pointer;list-style:none}details.sec>summary::-webkit-details-marker{display:none}
details.sec>summary h2::before{content:"\\25B8  ";color:var(--muted)}
details.sec[open]>summary h2::before{content:"\\25BE  "}
.filter{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center;background:var(--card);border:1px solid var(--line);
border-radius:10px;padding:10px 14px;margin:0 0 12px;font-size:.88rem;position:sticky;top:0;z-index:1}
.filter select,.filter input{font:inherit;margin-left:6px;max-width:340px}
#filter-count{font-weight:600}.filter a{margin-left:auto;color:var(--accent)}
details.target>summary{cursor:pointer;list-style:none}
details.target>summary::-webkit-details-marker{display:none}
details.target>summary::before{content:"\\25B8";color:var(--muted);width:12px}
details.target[open]>summary::before{content:"\\25BE"}
details.target:not([open])>summary{margin-bottom:0}
.thead .right{margin-left:auto;color:var(--muted);font-size:.8rem}
.tpath{font-weight:600;font-size:.9rem}
table.f th:nth-child(1){width:120px}table.f th:nth-child(2){width:80px}table.f th:nth-child(3){width:56px}
table.f th:nth-child(5){width:220px}
table.f td:nth-child(2),table.f td:nth-child(3){font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,
"DejaVu Sans Mono",monospace;font-size:.82rem;white-space:nowrap}
table.f td:nth-child(3){text-align:right}
table.f td:nth-child(4){white-space:pre-wrap;overflow-wrap:anywhere}
table.f code{background:#f1f5f9;border-radius:4px;padding:0 5px;font-size:.82rem;overflow-wrap:anywhere}
@media (max-width:1000px){.kpis{grid-template-columns:repeat(3,minmax(0,1fr))}.panels{grid-template-columns:1fr}}
@media print{header.top{background:#fff;color:#000}header.top .meta,header.top .meta b{color:#000}
details.host>summary::before,details.target>summary::before{content:""}.filter{display:none}}
""".strip()
