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
    const a = r.c.audio || {};
    if (c.t != null) td.appendChild(textBlock(c.t, c.tl));
    else if (c.same && a.t != null) td.appendChild(textBlock(a.t, a.tl));
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
  for (const note of DATA.audio_notes || []) $('audio-notes').appendChild(el('div', null, note));
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
