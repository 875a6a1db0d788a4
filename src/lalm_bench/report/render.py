"""The page: one self-contained HTML file (inline CSS, JS, SVG; data as JSON in a ``<script type="application/json">``).

Everything from a model or a dataset is untrusted. Server-side it is escaped (:func:`esc`, which also shows
bidi controls as visible marks); in the JSON ``<``, ``>``, ``&`` and the line separators are ``\\u`` escapes, so
nothing in it can close the script element; the page's script inserts it with ``textContent`` only. A
Content-Security-Policy forbids every network request; players use ``data:`` URIs or relative files.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from lalm_bench.io import to_strict_json
from lalm_bench.report.run import ReportResult

BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def esc(text: Any) -> str:
    """HTML-escaped text with bidi controls shown as ``⟦U+202E⟧`` (never applied)."""
    s = BIDI.sub(lambda m: f"⟦U+{ord(m.group()):04X}⟧", str(text))
    return escape(s, quote=True)


def json_for_script(obj: Any) -> str:
    """Strict JSON that is inert inside ``<script type="application/json">``."""
    text = json.dumps(to_strict_json(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )  # fmt: skip


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _ci(ci: Any, pts: bool = False) -> str:
    if not ci:
        return "no CI"
    if pts:
        return f"{100 * ci[0]:+.1f} to {100 * ci[1]:+.1f}"
    return f"{100 * ci[0]:.1f}% to {100 * ci[1]:.1f}%"


def _verdicts(data: dict[str, Any]) -> str:
    out = []
    for label, m in data["models"].items():
        v = m["verdict"]
        ev = "".join(f"<li>{esc(e)}</li>" for e in v["evidence"])
        cav = "".join(f"<li>{esc(c)}</li>" for c in v["caveats"])
        warn = "".join(f"<li>{esc(w)}</li>" for w in m.get("warnings", []))
        out.append(
            f'<div class="card verdict v-{esc(v["conclusion"])}"><h3>{esc(label)}</h3>'
            f'<p class="line">{esc(v["line"])}</p>'
            f"<details><summary>the numbers behind it</summary><ul>{ev}</ul></details>"
            + (f'<p class="cav-h">What not to conclude:</p><ul class="cav">{cav}</ul>' if cav else "")
            + (f'<ul class="warn">{warn}</ul>' if warn else "")
            + "</div>"
        )
    return "".join(out)


def _gap(gap: dict[str, Any]) -> str:
    if gap.get("gap") is None:
        return "–"
    ci = gap.get("ci95")
    return f"{gap['gap']:+.3f} (" + (f"{ci[0]:+.3f} to {ci[1]:+.3f}" if ci else "no CI") + ")"


def _leaderboard(data: dict[str, Any]) -> str:
    rows = []
    for label, m in data["models"].items():
        n = m["verdict"]["numbers"]
        acc = n.get("accuracy") or {}
        controls = [c for c in n if c not in ("accuracy", "identical", "listening_gap")]
        worst = min(
            controls, key=lambda c: n[c].get("difference") if n[c].get("difference") is not None else 9, default=None
        )
        kept = (n.get(worst) or {}).get("kept") or {} if worst else {}
        gap = n.get("listening_gap") or {}
        rows.append(
            "<tr>"
            f"<td>{esc(label)}</td><td>{esc(m['verdict']['conclusion'])}</td>"
            f"<td>{_pct(acc.get('audio'))} ({_ci(acc.get('audio_ci95'))})</td>"
            + (
                f"<td>{esc(worst)}: {100 * n[worst]['difference']:+.1f} pts ({_ci(n[worst].get('ci95'), True)})</td>"
                if worst and n[worst].get("difference") is not None
                else "<td>–</td>"
            )
            + f"<td>{_pct(kept.get('raw'))} ({_ci(kept.get('raw_ci95'))})</td>"
            f"<td>{_pct(kept.get('chance_corrected'))} ({_ci(kept.get('chance_corrected_ci95'))})</td>"
            + f"<td>{_gap(gap)}</td>"
            + "</tr>"
        )
    return (
        '<table class="tbl" id="leaderboard"><thead><tr><th>model</th><th>verdict</th><th>accuracy with audio</th>'
        "<th>largest drop under a control (paired 95% CI)</th><th>score kept without audio</th>"
        "<th>kept, chance-corrected</th><th>listening gap</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _tables(result: ReportResult) -> str:
    from lalm_bench.report.tables import _display

    out = []
    for title, head, body in _display(result.tables):
        out.append(
            f'<h3>{esc(title)}</h3><table class="tbl"><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in body)
            + "</tbody></table>"
        )
    return "".join(out) or "<p>No accuracy or similarity results among the inputs.</p>"


def _kv_table(rows: list[dict[str, Any]], columns: list[str] | None = None, limit: int = 200) -> str:
    if not rows:
        return "<p>none</p>"
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_short(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows[:limit]
    )
    more = f"<p>{len(rows) - limit} more rows not shown.</p>" if len(rows) > limit else ""
    return (
        '<div class="scroll"><table class="tbl"><thead><tr>'
        + "".join(f"<th>{esc(c)}</th>" for c in columns)
        + f"</tr></thead><tbody>{body}</tbody></table></div>{more}"
    )


def _short(v: Any, n: int = 400) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        v = json.dumps(to_strict_json(v), ensure_ascii=False)
    s = "" if v is None else str(v)
    return s if len(s) <= n else s[:n] + f"… ({len(s) - n} more characters)"


def _panels(data: dict[str, Any]) -> str:
    p = data["panels"]
    out = []
    for j in p["judge"]:
        rows = []
        for sy in j.get("systems") or []:
            if not isinstance(sy, dict):
                continue
            sc: dict[str, Any] = sy["score"] if isinstance(sy.get("score"), dict) else {}
            rows.append({
                "system": sy.get("name"), "kind": sy.get("kind"), "score": sc.get("mean"), "95% CI": sc.get("ci95"),
                "CI method": sc.get("ci_method"), "scored captions": sy.get("scored_captions"),
                "captions": sy.get("captions"),
            })  # fmt: skip
        crit_rows = []
        for c in j.get("criteria") or []:
            if not isinstance(c, dict):
                continue
            row = {"criterion": c.get("criterion"), "weight": c.get("weight")}
            for name, v in (c.get("systems") or {}).items():
                rate = (v or {}).get("met_rate") or {}
                row[f"met rate: {name}"] = rate.get("mean")
            crit_rows.append(row)
        hc = j.get("human_ceiling") or {}
        hs = hc.get("score") or {}
        out.append(
            f"<h3>rubrics judge: {esc(j['file'])}</h3>"
            + (
                f"<p>human level (the references judged alike): {esc(_short(hs.get('mean')))} "
                f"(95% CI {esc(_short(hs.get('ci95')))})</p>"
                if hs
                else "<p>no human level (run judge with --references)</p>"
            )
            + _kv_table(rows)
            + "<details><summary>met rate per criterion</summary>"
            + _kv_table(crit_rows, limit=200)
            + "</details><details><summary>verdicts and reasons</summary>"
            + _kv_table(j.get("verdicts") or [], limit=300)
            + "</details>"
        )
    for c in p["compare"]:
        f1 = c.get("f1_matrix") or {}
        labels = f1.get("labels") or []
        values = f1.get("values") or []
        rows = [
            {
                "": a,
                **{b: (values[i][k] if i < len(values) and k < len(values[i]) else None) for k, b in enumerate(labels)},
            }
            for i, a in enumerate(labels)
        ]
        out.append(
            f"<h3>rubrics compare: {esc(c['file'])}</h3><p>F1 matrix</p>" + _kv_table(rows)
            + f"<p>criteria in every run (survivors): {esc(c.get('n_survivors'))}</p>"
            + "<details><summary>survivors</summary>" + _kv_table(c.get("survivors") or [], limit=100) + "</details>"
            + f"<p>growth: {esc(_short(c.get('growth'), 600))}</p>"
        )  # fmt: skip
    for r in p["clotho_refs"]:
        out.append(
            f"<h3>clotho-refs: {esc(r['file'])}</h3>"
            + "<details><summary>summary</summary><pre>"
            + esc(_short(r["summary"], 20000))
            + "</pre></details>"
            + "<p>flagged clips with their captions</p>"
            + _kv_table(r.get("flagged") or [], limit=200)
        )
    return "".join(out)


def _provenance(data: dict[str, Any]) -> str:
    out = [f"<p>report: {esc(data['manifest'].get('tool'))} {esc(data['manifest'].get('tool_version'))}, "
           f"{esc(data['manifest'].get('created_utc'))} UTC</p>"]  # fmt: skip
    for label, m in data["models"].items():
        pv = m["provenance"]
        model = m["summary"].get("model") or {}
        out.append(f"<h3>{esc(label)}</h3>")
        if model:
            out.append(f"<p>model: {esc(_short(model, 600))}</p>")
        if pv.get("prompt"):
            out.append(
                "<details><summary>prompt template</summary><pre>"
                + esc(_short(pv["prompt"], 20000))
                + "</pre></details>"
            )
        if pv.get("seeds"):
            out.append(f"<p>seeds: {esc(_short(pv['seeds'], 800))}</p>")
        if pv.get("canary"):
            out.append(
                "<details><summary>server canary</summary><pre>"
                + esc(json.dumps(to_strict_json(pv["canary"]), indent=1, ensure_ascii=False))
                + "</pre></details>"
            )
        if pv.get("warnings"):
            out.append('<ul class="warn">' + "".join(f"<li>{esc(w)}</li>" for w in pv["warnings"]) + "</ul>")
        for name, man in pv.get("manifests", {}).items():
            ins = man.get("inputs") if isinstance(man, dict) else None
            hashes = "".join(
                f"<li>{esc(i.get('path'))}: sha256 {esc(i.get('sha256'))}</li>"
                for i in ins or []
                if isinstance(i, dict)
            )
            out.append(
                f"<details><summary>manifest: {esc(name)} ({esc((man or {}).get('created_utc'))})</summary>"
                f"<ul>{hashes}</ul><pre>{esc(json.dumps(to_strict_json(man), indent=1, ensure_ascii=False))}</pre></details>"
            )
    notes = data.get("audio_notes") or []
    if notes:
        out.append('<ul class="warn">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    out.append("<details><summary>this report's manifest</summary><pre>"
               + esc(json.dumps(to_strict_json(data["manifest"]), indent=1, ensure_ascii=False)) + "</pre></details>")  # fmt: skip
    return "".join(out)


CSS = """
:root{--fg:#1b1f24;--mut:#5c6770;--bd:#d5dbe1;--bg:#fff;--ok:#2e933c;--bad:#d1495b;--hl:#fff4c2}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;background:#f6f8fa}
header{background:#1b1f24;color:#fff;padding:12px 20px}header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#c9d1d9;font-size:12px}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--bd);padding:6px 20px;z-index:5}nav a{margin-right:14px;color:#1f6fb2;text-decoration:none}
main{padding:10px 20px;max-width:1500px}section{background:#fff;border:1px solid var(--bd);border-radius:6px;padding:10px 16px;margin:12px 0}
h2{font-size:17px;margin:4px 0 8px}h3{font-size:15px;margin:10px 0 6px}
.card{border:1px solid var(--bd);border-left:6px solid var(--mut);border-radius:4px;padding:8px 12px;margin:8px 0}
.v-listens{border-left-color:var(--ok)}.v-not-listening{border-left-color:var(--bad)}.v-no-evidence{border-left-color:#e08e0b}
.line{font-size:16px;font-weight:600;margin:4px 0}.warn li{color:#8a4b00}.cav li{color:var(--mut)}
.tbl{border-collapse:collapse;font-size:13px;margin:6px 0}.tbl th,.tbl td{border:1px solid var(--bd);padding:3px 6px;vertical-align:top;text-align:left}
.tbl th{background:#f0f3f6}.scroll{overflow:auto;max-height:480px}
.fig{display:block;margin:6px 0;max-width:100%;height:auto;background:#fff}.fig .ft{font-weight:600;font-size:13px}
.fig .tick,.fig .xl{font-size:11px;fill:var(--mut);text-anchor:middle}.fig .rl{font-size:12px;text-anchor:end}
.fig .grid{stroke:#e6eaee}.fig .ref{stroke:#333;stroke-dasharray:4 3}.fig .reflabel,.fig .lg{font-size:11px}
#controls{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin-bottom:8px}#controls label{white-space:nowrap}
#items td{max-width:420px}.txt{white-space:pre-wrap;word-break:break-word;unicode-bidi:isolate}
.q{font-weight:600}.meta{color:var(--mut);font-size:12px}.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}
.pick{font-size:12px;margin-top:4px}.more{font-size:12px;margin-left:4px}tr.hl td{background:var(--hl)}
audio{display:block;width:260px;height:32px;margin-top:4px}.nosound{font-size:12px;color:#8a4b00}
.pager button{margin:0 2px}pre{white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto;background:#f6f8fa;padding:6px}
.choices{margin:4px 0 0 16px;padding:0;font-size:12px}.gold{font-weight:700}
"""

JS = r"""
(function(){
'use strict';
const DATA = JSON.parse(document.getElementById('report-data').textContent);
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const PREVIEW = 400, PAGE = 50;
const clean = s => String(s).replace(BIDI, c => '\u27e6U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4,'0') + '\u27e7');
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = clean(text); return e; };
const labels = Object.keys(DATA.items);
const state = {model: labels[0], cat: '', rel: '', flip: false, unp: false, ref: false, err: false, same: false, q: '', sort: 'order', page: 0};
const $ = id => document.getElementById(id);
window.REPORT = {state: state, data: DATA, view: () => view};
let view = [];

function rowsOf(m){ return (DATA.items[m] || {rows: []}).rows; }
function condsOf(m){ return (DATA.items[m] || {conditions: []}).conditions; }

function fillSelect(sel, values, any){
  sel.textContent = '';
  if (any !== null) { const o = el('option', null, any); o.value = ''; sel.appendChild(o); }
  for (const v of values) { const o = el('option', null, v); o.value = v; sel.appendChild(o); }
}
function setupControls(){
  fillSelect($('f-model'), labels, null);
  $('f-model').value = state.model;
  const cats = [...new Set(rowsOf(state.model).map(r => r.cat))].sort();
  fillSelect($('f-cat'), cats, 'all categories');
  const rels = [...new Set(rowsOf(state.model).map(r => r.rel).filter(x => x))].sort();
  fillSelect($('f-rel'), rels, 'any reliance label');
}
function matches(r){
  if (state.cat && r.cat !== state.cat) return false;
  if (state.rel && r.rel !== state.rel) return false;
  if (state.flip && !r.flip) return false;
  if (state.unp && !(r.unp || r.ref)) return false;
  if (state.ref && !r.ref) return false;
  if (state.err && !r.err) return false;
  if (state.same && !r.same) return false;
  if (state.q) {
    const q = state.q.toLowerCase();
    let hay = (r.id + '\n' + r.q + '\n' + (r.ch || []).join('\n')).toLowerCase();
    for (const c of Object.values(r.c)) if (c.t) hay += '\n' + c.t.toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}
function compute(){
  const rows = rowsOf(state.model);
  view = [];
  for (let i = 0; i < rows.length; i++) if (matches(rows[i])) view.push(i);
  const s = state.sort;
  if (s === 'id') view.sort((a, b) => rows[a].id < rows[b].id ? -1 : rows[a].id > rows[b].id ? 1 : 0);
  else if (s === 'cat') view.sort((a, b) => rows[a].cat < rows[b].cat ? -1 : rows[a].cat > rows[b].cat ? 1 : a - b);
  else if (s === 'sim-asc' || s === 'sim-desc') {
    const k = s === 'sim-asc' ? 1 : -1;
    view.sort((a, b) => { const x = rows[a].sim, y = rows[b].sim; if (x == null) return 1; if (y == null) return -1; return k * (x - y); });
  }
}
function textBlock(text, fullLength){
  const d = el('div', 'txt');
  const t = text == null ? '' : String(text);
  if (t.length <= PREVIEW && !fullLength) { d.textContent = clean(t); return d; }
  const span = el('span', null, t.slice(0, PREVIEW) + (t.length > PREVIEW ? '…' : ''));
  d.appendChild(span);
  if (t.length > PREVIEW) {
    const b = el('button', 'more', 'show all (' + t.length + ' characters)');
    b.type = 'button';
    b.addEventListener('click', () => { span.textContent = clean(t); b.remove(); });
    d.appendChild(b);
  }
  if (fullLength) d.appendChild(el('div', 'meta', (fullLength - t.length) + ' more characters are not in the page (see the prediction file)'));
  return d;
}
function audioCell(td, keys){
  for (const key of keys || []) {
    const p = DATA.audio[key];
    if (!p) continue;
    if (p.src) {
      const a = document.createElement('audio');
      a.controls = true; a.preload = 'none'; a.src = p.src; a.dataset.key = key; a.title = clean(p.note || '');
      td.appendChild(a);
    } else td.appendChild(el('div', 'nosound', p.note || 'no audio'));
  }
}
function pickText(r, c){
  if (c.m == null) return null;
  if (c.m === 'unparsed') return 'unparsed' + (c.r ? ' (' + c.r + ')' : '');
  const letter = c.k != null ? String.fromCharCode(65 + (c.k % 26)) + (c.k >= 26 ? c.k : '') : '?';
  const ch = (r.ch || [])[c.k];
  return letter + ') ' + (ch == null ? '' : ch) + ' \u00b7 ' + c.m + (c.r ? '/' + c.r : '');
}
function renderRow(i){
  const r = rowsOf(state.model)[i];
  const tr = document.createElement('tr');
  tr.id = 'row-' + i; tr.dataset.id = r.id;
  const td0 = document.createElement('td');
  td0.appendChild(el('div', 'meta', r.id + ' \u00b7 ' + r.cat + (r.rel ? ' \u00b7 ' + r.rel : '') + (r.sim != null ? ' \u00b7 similarity ' + r.sim.toFixed(3) : '')));
  const q = textBlock(r.q); q.classList.add('q'); td0.appendChild(q);
  if (r.ch && r.ch.length) {
    const ol = el('ol', 'choices'); ol.type = 'A';
    r.ch.forEach((c, k) => { const li = el('li', k === r.gold ? 'gold' : null, c); ol.appendChild(li); });
    td0.appendChild(ol);
  } else if (r.ans != null) td0.appendChild(el('div', 'meta', 'reference: ' + r.ans));
  const link = el('a', 'meta', 'link'); link.href = '#item=' + encodeURIComponent(r.id); td0.appendChild(link);
  tr.appendChild(td0);
  for (const cond of condsOf(state.model)) {
    const td = document.createElement('td');
    const c = r.c[cond];
    if (!c) { td.appendChild(el('span', 'meta', '\u2013')); tr.appendChild(td); continue; }
    if (c.e) td.appendChild(el('div', 'bad', 'error: ' + c.e));
    if (c.t != null) td.appendChild(textBlock(c.t, c.tl));
    else if (!c.e) td.appendChild(el('div', 'meta', 'no answer in the page'));
    if (c.cut) td.appendChild(el('div', 'meta', 'cut at max tokens'));
    if (c.same) td.appendChild(el('div', 'meta', 'identical to the answer with audio'));
    const p = pickText(r, c);
    if (p != null) {
      const d = el('div', 'pick');
      d.appendChild(el('span', c.ok ? 'ok' : 'bad', c.ok ? '\u2713 right ' : '\u2717 wrong '));
      d.appendChild(el('span', null, p));
      td.appendChild(d);
    }
    audioCell(td, c.au);
    tr.appendChild(td);
  }
  return tr;
}
function render(){
  const table = $('items');
  table.textContent = '';
  const thead = document.createElement('thead'), hr = document.createElement('tr');
  hr.appendChild(el('th', null, 'item'));
  for (const c of condsOf(state.model)) hr.appendChild(el('th', null, c));
  thead.appendChild(hr); table.appendChild(thead);
  const tbody = document.createElement('tbody');
  const pages = Math.max(1, Math.ceil(view.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  for (const i of view.slice(state.page * PAGE, (state.page + 1) * PAGE)) tbody.appendChild(renderRow(i));
  table.appendChild(tbody);
  $('count').textContent = view.length + ' of ' + rowsOf(state.model).length + ' items';
  $('count').dataset.count = String(view.length);
  $('page').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
}
function update(){ compute(); render(); }
function readControls(){
  state.cat = $('f-cat').value; state.rel = $('f-rel').value; state.q = $('f-q').value.trim(); state.sort = $('f-sort').value;
  for (const k of ['flip','unp','ref','err','same']) state[k] = $('f-' + k).checked;
  state.page = 0; update();
}
function resetFilters(){
  $('f-cat').value = ''; $('f-rel').value = ''; $('f-q').value = '';
  for (const k of ['flip','unp','ref','err','same']) $('f-' + k).checked = false;
  state.cat = state.rel = state.q = ''; state.flip = state.unp = state.ref = state.err = state.same = false;
}
function goToItem(id){
  let model = state.model, idx = rowsOf(model).findIndex(r => r.id === id);
  if (idx < 0) for (const m of labels) { const k = rowsOf(m).findIndex(r => r.id === id); if (k >= 0) { model = m; idx = k; break; } }
  if (idx < 0) { $('count').textContent = 'item ' + clean(id) + ' is not in this report'; return; }
  if (model !== state.model) { state.model = model; setupControls(); }
  compute();
  if (!view.includes(idx)) { resetFilters(); compute(); }
  state.page = Math.floor(view.indexOf(idx) / PAGE);
  render();
  const tr = $('row-' + idx);
  if (tr) { tr.classList.add('hl'); tr.scrollIntoView({block: 'center'}); }
}
function onHash(){
  const m = /^#item=(.*)$/.exec(location.hash);
  if (m) goToItem(decodeURIComponent(m[1]));
}
document.addEventListener('DOMContentLoaded', () => {
  setupControls();
  for (const id of ['f-cat','f-rel','f-sort','f-flip','f-unp','f-ref','f-err','f-same']) $(id).addEventListener('change', readControls);
  $('f-q').addEventListener('input', readControls);
  $('f-model').addEventListener('change', () => { state.model = $('f-model').value; setupControls(); resetFilters(); state.page = 0; update(); });
  $('prev').addEventListener('click', () => { if (state.page > 0) { state.page--; render(); } });
  $('next').addEventListener('click', () => { state.page++; render(); });
  update();
  window.addEventListener('hashchange', onHash);
  onHash();
});
})();
"""

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
    "media-src data: file: 'self'; base-uri 'none'; form-action 'none'"
)


def render_html(result: ReportResult) -> str:
    """The page as one string."""
    data = result.data
    figs = "".join(f["svg"] for f in result.figures) or "<p>No figures: no accuracy or similarity results.</p>"
    several = len(data["models"]) > 1
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(result.title)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>{esc(result.title)}</h1><p>lalm-bench {esc(data["manifest"].get("tool_version"))} · {esc(data["manifest"].get("created_utc"))} UTC · {len(data["models"])} model(s)</p></header>
<nav><a href="#verdicts">Verdict</a><a href="#figures">Figures</a><a href="#tables">Tables</a><a href="#browser">Items</a><a href="#rubrics">Rubrics &amp; references</a><a href="#provenance">Provenance</a></nav>
<main>
<section id="verdicts"><h2>Does it listen?</h2>{_verdicts(data)}
<h3>{"Listening leaderboard" if several else "In one row"}</h3>{_leaderboard(data)}</section>
<section id="figures"><h2>Figures</h2>{figs}</section>
<section id="tables"><h2>Tables</h2>{_tables(result)}</section>
<section id="browser"><h2>Items</h2>
<div id="controls">
<label>model <select id="f-model"></select></label>
<label><select id="f-cat"></select></label>
<label><select id="f-rel"></select></label>
<label><input type="checkbox" id="f-flip"> flips</label>
<label><input type="checkbox" id="f-unp"> unparsed or refusals</label>
<label><input type="checkbox" id="f-ref"> refusals</label>
<label><input type="checkbox" id="f-err"> errors</label>
<label><input type="checkbox" id="f-same"> identical answers</label>
<label>search <input type="search" id="f-q" placeholder="question or answers"></label>
<label>sort <select id="f-sort"><option value="order">file order</option><option value="id">id</option><option value="cat">category</option><option value="sim-asc">similarity ↑</option><option value="sim-desc">similarity ↓</option></select></label>
</div>
<div class="pager"><span id="count"></span> · <button type="button" id="prev">◀</button><span id="page"></span><button type="button" id="next">▶</button></div>
<table class="tbl" id="items"></table>
</section>
<section id="rubrics"><h2>Rubrics and references</h2>{_panels(data) or "<p>No rubrics judge, rubrics compare or clotho-refs outputs among the inputs.</p>"}</section>
<section id="provenance"><h2>Provenance</h2>{_provenance(data)}</section>
</main>
<script type="application/json" id="report-data">{json_for_script(data)}</script>
<script>{JS}</script>
</body></html>
"""
