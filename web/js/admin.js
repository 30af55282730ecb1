// The monitor: polls GET /v1/admin/cluster every second, draws a table and charts.

import * as api from './api.js';

const $ = (id) => document.getElementById(id);
const KEY = 'koi.admin';
const POLL_MS = 1000;
const SAMPLES = 120;
const COLORS = ['#d9512c', '#2f7fd8', '#1e9e5a', '#9b59b6', '#e0a800', '#16a2b8', '#c0392b', '#6c757d'];
const SVG = 'http://www.w3.org/2000/svg';

let token = sessionStorage.getItem(KEY);
let timer = 0;
const series = new Map(); // node id -> {in: [], out: []}
const errors = [];
const colorOf = new Map();

function td(text, cls) {
  const cell = document.createElement('td');
  cell.textContent = text;
  if (cls) cell.className = cls;
  return cell;
}

function color(id) {
  if (!colorOf.has(id)) colorOf.set(id, COLORS[colorOf.size % COLORS.length]);
  return colorOf.get(id);
}

function showToken(message = '') {
  clearTimeout(timer);
  $('monitor').hidden = true;
  $('token-view').hidden = false;
  $('token-error').textContent = message;
  $('token').focus();
}

function showMonitor() {
  $('token-view').hidden = true;
  $('monitor').hidden = false;
  poll();
}

function metric(text, name) {
  const m = typeof text === 'string' && text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

async function poll() {
  clearTimeout(timer);
  const started = Date.now();
  try {
    const [{ nodes = [] }, metrics] = await Promise.all([
      api.cluster(token),
      api.metrics().catch(() => null),
    ]);
    $('poll').dataset.state = 'online';
    $('poll').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    render(nodes, metrics);
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      sessionStorage.removeItem(KEY);
      showToken(e.status === 403 ? 'That is not the admin token (or none is configured).' : e.message);
      return;
    }
    $('poll').dataset.state = 'offline';
    $('poll').textContent = 'Poll failed';
    errors.unshift({ at: new Date(), text: e.message || String(e) });
    errors.length = Math.min(errors.length, 20);
    renderErrors();
  }
  timer = setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
}

function render(nodes, metrics) {
  const sum = (k) => nodes.reduce((n, x) => n + (x[k] || 0), 0);
  $('s-nodes').textContent = nodes.length;
  $('s-conns').textContent = sum('connections');
  $('s-users').textContent = sum('users');
  const stored = metric(metrics, 'koi_messages_stored_total');
  const pushed = metric(metrics, 'koi_pushes_delivered_total');
  $('s-stored').textContent = stored ?? '–';
  $('s-pushed').textContent = pushed ?? '–';

  $('nodes').replaceChildren(
    ...nodes.map((n) => {
      const tr = document.createElement('tr');
      const id = td(n.id);
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.setAttribute('aria-hidden', 'true');
      sw.style.background = color(n.id);
      id.prepend(sw);
      tr.append(
        id,
        td((n.roles || []).join(', ')),
        td(n.ws || ''),
        td(n.tcp || ''),
        td(String(n.connections ?? 0), 'num'),
        td(String(n.users ?? 0), 'num'),
        td((n.msgs_in_per_s ?? 0).toFixed(1), 'num'),
        td((n.msgs_out_per_s ?? 0).toFixed(1), 'num'),
        td(n.started_at ? stamp(n.started_at) : ''),
      );
      return tr;
    }),
  );

  const seen = new Set();
  for (const n of nodes) {
    seen.add(n.id);
    if (!series.has(n.id)) series.set(n.id, { in: [], out: [] });
    const s = series.get(n.id);
    s.in.push(n.msgs_in_per_s || 0);
    s.out.push(n.msgs_out_per_s || 0);
  }
  // A node that stopped reporting flattens to zero, then leaves the chart.
  for (const [id, s] of series) {
    if (!seen.has(id)) {
      s.in.push(0);
      s.out.push(0);
      if (s.in.every((v) => v === 0)) series.delete(id);
    }
  }
  for (const s of series.values()) {
    for (const k of ['in', 'out']) if (s[k].length > SAMPLES) s[k].splice(0, s[k].length - SAMPLES);
  }
  chart($('chart-in'), 'in');
  chart($('chart-out'), 'out');
  $('legend').replaceChildren(
    ...[...series.keys()].map((id) => {
      const item = document.createElement('span');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color(id);
      item.append(sw, id);
      return item;
    }),
  );
}

function chart(figure, key) {
  const W = Math.max(240, Math.round(figure.clientWidth || 400));
  const H = 160;
  const PAD = { l: 34, r: 6, t: 8, b: 16 };
  let max = 1;
  for (const s of series.values()) for (const v of s[key]) max = Math.max(max, v);
  max = niceMax(max);
  const x = (i) => PAD.l + ((W - PAD.l - PAD.r) * i) / (SAMPLES - 1);
  const y = (v) => H - PAD.b - ((H - PAD.t - PAD.b) * v) / max;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const latest = [...series.entries()].map(([id, s]) => `${id}: ${(s[key].at(-1) ?? 0).toFixed(1)}/s`);
  svg.setAttribute('aria-label', `${key === 'in' ? 'Messages in' : 'Messages out'} per second. ${latest.join(', ')}`);
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  for (const v of [0, max / 2, max]) {
    add('line', { class: 'axis', x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) });
    add('text', { class: 'label', x: PAD.l - 4, y: y(v) + 3, 'text-anchor': 'end' }, fmt(v));
  }
  add('text', { class: 'label', x: PAD.l, y: H - 3 }, '−2 min');
  add('text', { class: 'label', x: W - PAD.r, y: H - 3, 'text-anchor': 'end' }, 'now');
  for (const [id, s] of series) {
    const values = s[key];
    const offset = SAMPLES - values.length;
    const points = values.map((v, i) => `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    add('polyline', { points, fill: 'none', stroke: color(id), 'stroke-width': 2, 'stroke-linejoin': 'round' });
  }
  figure.querySelector('svg')?.remove();
  figure.append(svg);
}

/** `YYYY-MM-DD HH:MM:SS`, local time. */
function stamp(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmt(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 10) / 10);
}

function renderErrors() {
  $('errors').replaceChildren(
    ...errors.map((e) => {
      const li = document.createElement('li');
      li.textContent = `${e.at.toLocaleTimeString()} — ${e.text}`;
      return li;
    }),
  );
  if (!errors.length) {
    const li = document.createElement('li');
    li.className = 'muted none';
    li.textContent = 'None.';
    $('errors').replaceChildren(li);
  }
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  token = value;
  sessionStorage.setItem(KEY, token);
  $('token').value = '';
  showMonitor();
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  token = null;
  showToken();
});

renderErrors();
if (token) showMonitor();
else showToken();
