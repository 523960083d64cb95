/* SPDX-License-Identifier: BSD-2-Clause */
// The status page of Partita's management partition (guests/mgmt), drawn
// from the API every two seconds: the schedule of each CPU as an SVG
// timeline of one major frame (one rect.window per window, coloured by
// partition), the partitions with their CPU share and window-start
// lateness over the last minutes (history kept by the partition, fetched
// incrementally with ?since=), a live console tail per partition (fetched
// when its console has moved), and stop / start / restart buttons.
//
// The bearer token, when the user gives it (in the form, or in a link as
// #token=..., which never reaches the server and is taken off the address
// at once), is kept in sessionStorage (this tab only) and sent with every
// API request; control always needs it, and reading does unless the config
// says api_public_read = yes.
'use strict';

const SVGNS = 'http://www.w3.org/2000/svg';
const HISTORY = 300; // samples the partition keeps (one a second)
const CONSOLE_LINES = 80;
const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem('partita-token') || '',
  schedule: null,
  since: 0, // the last history sample we have
  history: new Map(), // name -> {cpu: [], lateMax: [], lateMean: []}
  consoles: new Map(), // name -> {total, pre}
  rows: new Map(), // name -> table row cells
  busy: false,
};

function color(id) {
  const hues = [212, 28, 140, 354, 270, 45, 185, 320, 95, 240, 10, 165, 295, 60, 200, 335];
  return `hsl(${hues[id % hues.length]}, 62%, ${id < hues.length ? 50 : 38}%)`;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function fmtNs(ns) {
  if (ns >= 1e6 && ns % 1e3 === 0) return `${+(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(1)} µs`;
  return `${ns} ns`;
}

function say(text, kind = '') {
  const m = $('message');
  m.textContent = text;
  m.className = kind;
}

async function api(method, path) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const r = await fetch(path, { method, headers, cache: 'no-store' });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  if (!r.ok) {
    const err = new Error(body && body.error ? body.error : `${r.status} ${r.statusText}`);
    err.status = r.status;
    err.retry = r.headers.get('Retry-After');
    throw err;
  }
  return body;
}

// ------------------------------------------------------------- schedule --

function drawSchedule(s) {
  const W = 1000, top = 4, barH = 30, axis = top + barH;
  const box = $('timelines');
  box.replaceChildren();
  $('frame').textContent = `one major frame of ${fmtNs(s.frame_ns)}, every CPU from the same epoch`;
  const seen = new Map();
  for (const cpu of s.cpus) {
    const g = svgEl('svg', {
      class: 'timeline', 'data-cpu': cpu.cpu, viewBox: `0 0 ${W} 64`,
      preserveAspectRatio: 'none', role: 'img', 'aria-label': `schedule of CPU ${cpu.cpu}`,
    });
    g.append(svgEl('rect', { class: 'frame', x: 0, y: top, width: W, height: barH }));
    for (const w of cpu.windows) {
      const x = (w.offset_ns / s.frame_ns) * W, wd = (w.length_ns / s.frame_ns) * W;
      const r = svgEl('rect', {
        class: 'window', 'data-partition': w.partition, 'data-offset-ns': w.offset_ns,
        'data-length-ns': w.length_ns, x: x.toFixed(2), y: top, width: Math.max(wd, 0.5).toFixed(2),
        height: barH, fill: color(w.id),
      });
      const t = svgEl('title');
      t.textContent = `${w.partition}: from ${fmtNs(w.offset_ns)} for ${fmtNs(w.length_ns)}`;
      r.append(t);
      g.append(r);
      if (wd > 8 * w.partition.length) {
        const label = svgEl('text', { class: 'label', x: (x + wd / 2).toFixed(1), y: top + barH / 2 + 4 });
        label.textContent = w.partition;
        g.append(label);
      }
      seen.set(w.partition, w.id);
    }
    for (let i = 0; i <= 10; i++) {
      const x = (W * i) / 10;
      g.append(svgEl('line', { class: 'tick', x1: x, x2: x, y1: axis, y2: axis + 5 }));
      const t = svgEl('text', { x: Math.min(Math.max(x, 2), W - 2), y: axis + 18,
        'text-anchor': i === 0 ? 'start' : i === 10 ? 'end' : 'middle' });
      t.textContent = fmtNs((s.frame_ns * i) / 10);
      g.append(t);
    }
    box.append(el('div', { class: 'cpu' }, el('h3', {}, `CPU ${cpu.cpu}`), g));
  }
  $('legend').replaceChildren(...[...seen].map(([name, id]) =>
    el('span', { style: `--c: ${color(id)}` }, name)));
}

// ------------------------------------------------------------ partitions --

function spark(series, max, unit) {
  const W = 160, H = 30;
  const s = svgEl('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none' });
  for (const [values, cls, colour] of series) {
    if (!values.length) continue;
    const pts = values.map((v, i) => {
      const x = (W * (i + HISTORY - values.length)) / (HISTORY - 1);
      const y = H - 1 - ((H - 3) * Math.min(v, max)) / max;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    s.append(svgEl('polyline', { class: cls, points: pts.join(' '), stroke: colour }));
  }
  const t = svgEl('title');
  t.textContent = `scale 0 to ${max} ${unit}, one point a second`;
  s.append(t);
  return s;
}

function mergeHistory(h) {
  if (h.first > state.since + 1) state.history.clear(); // a gap: start over
  for (const p of h.partitions) {
    let e = state.history.get(p.name);
    if (!e) state.history.set(p.name, (e = { cpu: [], lateMax: [], lateMean: [] }));
    e.cpu.push(...p.cpu_permille);
    e.lateMax.push(...p.late_max_us);
    e.lateMean.push(...p.late_mean_us);
    for (const k of ['cpu', 'lateMax', 'lateMean']) e[k].splice(0, Math.max(0, e[k].length - HISTORY));
  }
  state.since = h.last;
}

function row(p) {
  let r = state.rows.get(p.name);
  if (r) return r;
  const cell = (cls = '') => el('td', cls ? { class: cls } : {});
  r = {
    tr: el('tr', { class: 'partition', 'data-name': p.name }),
    name: cell('name'), kind: cell(), cpu: cell(), state: cell('state'),
    share: cell('plot cpu-share'), late: cell('plot lateness'),
    exits: cell('num exits'), restarts: cell('num restarts'), control: cell('control'),
  };
  r.name.textContent = p.name;
  r.name.style.setProperty('--c', color(p.id));
  for (const action of ['stop', 'start', 'restart']) {
    const b = el('button', { type: 'button', 'data-action': action, 'data-name': p.name }, action);
    b.addEventListener('click', () => control(action, p.name, b));
    r.control.append(b);
  }
  if (p.self) r.control.append(el('small', {}, ' (this partition)'));
  r.tr.append(r.name, r.kind, r.cpu, r.state, r.share, r.late, r.exits, r.restarts, r.control);
  $('partitions').tBodies[0].append(r.tr);
  state.rows.set(p.name, r);
  return r;
}

function drawPartitions(list) {
  const names = new Set(list.partitions.map((p) => p.name));
  for (const [name, r] of state.rows) if (!names.has(name)) { r.tr.remove(); state.rows.delete(name); }
  for (const p of list.partitions) {
    const r = row(p);
    r.kind.textContent = p.kind;
    r.cpu.textContent = p.cpu;
    r.state.textContent = p.state;
    r.state.className = `state ${p.state}`;
    r.exits.textContent = Object.values(p.exits).reduce((a, b) => a + b, 0).toLocaleString('en');
    r.restarts.textContent = p.restarts;
    for (const b of r.control.querySelectorAll('button')) b.disabled = p.self;
    const h = state.history.get(p.name) || { cpu: [], lateMax: [], lateMean: [] };
    const share = h.cpu.length ? h.cpu[h.cpu.length - 1] / 10 : 0;
    r.share.replaceChildren(el('div', { class: 'plot' },
      spark([[h.cpu, 'cpu', color(p.id)]], 1000, '‰'), el('output', {}, `${share.toFixed(1)} %`)));
    const lmax = Math.max(10, ...h.lateMax.slice(-HISTORY));
    const last = h.lateMax.length ? h.lateMax[h.lateMax.length - 1] : 0;
    r.late.replaceChildren(el('div', { class: 'plot' },
      spark([[h.lateMax, 'max', color(p.id)], [h.lateMean, 'mean', '#5f6b7a']], lmax, 'µs'),
      el('output', { title: 'worst in the last second; dashed: mean' }, `${last} µs max`)));
  }
  const self = list.partitions.find((p) => p.self);
  $('summary').textContent = `${self ? self.name : list.self} · up ${Math.floor(list.uptime_ns / 1e9)} s · ` +
    `${list.partitions.length} partitions · ${location.protocol === 'https:' ? 'HTTPS' : 'plain HTTP'}`;
}

// -------------------------------------------------------------- consoles --

async function updateConsoles(partitions) {
  for (const p of partitions) {
    let c = state.consoles.get(p.name);
    if (!c) {
      const pre = el('pre', { 'data-name': p.name });
      const box = el('div', { class: 'console', 'data-name': p.name }, el('h3', {}, p.name), pre);
      $('consoles').append(box);
      state.consoles.set(p.name, (c = { total: -1, pre }));
    }
    if (c.total === p.console_total) continue;
    const t = await api('GET', `/api/partitions/${encodeURIComponent(p.name)}/console`);
    const lines = t.console.split('\n');
    const atEnd = c.pre.scrollTop + c.pre.clientHeight >= c.pre.scrollHeight - 4;
    c.pre.textContent = lines.slice(-CONSOLE_LINES).join('\n');
    if (atEnd) c.pre.scrollTop = c.pre.scrollHeight;
    c.total = t.total;
  }
}

// --------------------------------------------------------------- control --

async function control(action, name, button) {
  if (!state.token) {
    say('Stop, start and restart need the API token: enter it above.', 'error');
    $('token').focus();
    return;
  }
  button.disabled = true;
  try {
    await api('POST', `/api/partitions/${encodeURIComponent(name)}/${action}`);
    say(`${action} ${name}: done`, 'ok');
  } catch (e) {
    say(`${action} ${name}: ${e.status === 429 ? `refused, try again in ${e.retry} s` : e.message}`, 'error');
  } finally {
    button.disabled = false;
    refresh();
  }
}

function setToken(t) {
  state.token = t;
  if (t) sessionStorage.setItem('partita-token', t);
  else sessionStorage.removeItem('partita-token');
  $('auth').classList.toggle('set', !!t);
  $('token').value = '';
  $('token').placeholder = t ? 'token set for this tab' : 'for stop, start and restart';
}

// ---------------------------------------------------------------- refresh --

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    if (!state.schedule) {
      state.schedule = await api('GET', '/api/schedule');
      drawSchedule(state.schedule);
    }
    const list = await api('GET', '/api/partitions');
    mergeHistory(await api('GET', `/api/history?since=${state.since}`));
    drawPartitions(list);
    await updateConsoles(list.partitions);
    if ($('message').className === 'error' && /answer|token/.test($('message').textContent)) say('');
    document.body.dataset.ready = 'yes';
  } catch (e) {
    if (e.status === 401)
      say('The API wants its token: enter it above (api_token in the config, or the line ' +
        '"api token ..." on the management partition\'s console at boot).', 'error');
    else if (e.status === 429) say(`Too many bad tokens: the API refuses for ${e.retry} s.`, 'error');
    else say(`No answer from the management partition (${e.message}); retrying.`, 'error');
  } finally {
    state.busy = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('auth').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken($('token').value.trim());
    refresh();
  });
  $('token-forget').addEventListener('click', () => setToken(''));
  const m = /^#token=([\x21-\x7e]+)$/.exec(location.hash);
  if (m) history.replaceState(null, '', location.pathname + location.search);
  setToken(m ? decodeURIComponent(m[1]) : state.token);
  refresh();
  setInterval(refresh, 2000);
});
