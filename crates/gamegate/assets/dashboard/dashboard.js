// The admin dashboard: fetches the JSON endpoints of this (admin) listener
// and draws plain SVG bar charts and tables. No library, no inline script
// (the page's CSP forbids it); text goes in through textContent only, so a
// login can never become markup.
//
// After drawing, each chart sets data-state="ready", data-bars (the number
// of bars drawn) and data-total (the sum of their values); the browser test
// compares those and the drawn elements with the API's own answers.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const DAY = 86400;
  const FETCH_TIMEOUT_MS = 10000;
  const MAX_RETRIES = 20;

  function windowDays() {
    const raw = new URLSearchParams(window.location.search).get('days');
    const n = Number.parseInt(raw || '30', 10);
    return Number.isFinite(n) ? Math.min(Math.max(n, 1), 366) : 30;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // GET a JSON endpoint, bounded by a timeout. A 503 with Retry-After (the
  // anomaly pass has not finished yet) is retried after that many seconds.
  // The URL is built on the origin, which never carries user:password@ (a
  // page opened as http://operator:TOKEN@host/… would make fetch refuse a
  // relative path); with admin.tokens set the browser resends the Basic
  // credentials it authenticated the page with.
  async function getJson(path) {
    const url = new URL(path, window.location.origin);
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
      let response;
      try {
        response = await fetch(url, {
          signal: controller.signal,
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
      } finally {
        clearTimeout(timer);
      }
      const retryAfter = Number.parseInt(response.headers.get('Retry-After') || '', 10);
      if (response.status === 503 && Number.isFinite(retryAfter) && attempt < MAX_RETRIES) {
        await sleep(Math.min(Math.max(retryAfter, 1), 5) * 1000);
        continue;
      }
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      return { status: response.status, body };
    }
  }

  function el(name, attrs, text) {
    const node = document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setState(box, state, message) {
    box.dataset.state = state;
    if (message !== undefined) box.replaceChildren(document.createTextNode(message));
  }

  function failed(box, what, result) {
    const detail = result && result.body && result.body.detail ? ` (${result.body.detail})` : '';
    const status = result ? `HTTP ${result.status}` : 'no answer';
    setState(box, 'error', `Cannot load ${what}: ${status}${detail}.`);
  }

  function utcDate(unix) {
    return new Date(unix * 1000).toISOString().slice(0, 10);
  }

  const dayStart = (unix) => Math.floor(unix / DAY) * DAY;

  // One slot per UTC day from `from` to `to` (both day starts), valued from
  // `counts` (day start → value); days without data are zero.
  function daySlots(from, to, counts) {
    const slots = [];
    for (let day = from; day <= to; day += DAY) {
      const value = counts.get(day) || 0;
      slots.push({ label: utcDate(day), value, title: `${utcDate(day)}: ${value}` });
    }
    return slots;
  }

  // A bar chart of `slots` ({label, value, title}) into `box`.
  function barChart(box, slots) {
    const width = 640;
    const height = 220;
    const left = 44;
    const bottom = 24;
    const top = 10;
    const plotW = width - left - 8;
    const plotH = height - top - bottom;
    const max = Math.max(1, ...slots.map((s) => s.value));
    const step = plotW / slots.length;
    const gap = step > 6 ? Math.min(step * 0.15, 4) : 0;

    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': box.getAttribute('aria-label') || 'bar chart',
    });
    chart.appendChild(svg('line', { class: 'axis', x1: left, y1: top + plotH, x2: width - 8, y2: top + plotH }));
    chart.appendChild(svg('line', { class: 'axis', x1: left, y1: top, x2: left, y2: top + plotH }));
    for (const fraction of [0, 0.5, 1]) {
      const y = top + plotH - fraction * plotH;
      const value = max * fraction;
      const label = Number.isInteger(value) ? String(value) : value.toFixed(1);
      chart.appendChild(svg('text', { class: 'tick', x: left - 6, y: y + 4, 'text-anchor': 'end' }, label));
    }
    slots.forEach((slot, i) => {
      const h = (slot.value / max) * plotH;
      const rect = svg('rect', {
        class: 'bar',
        x: (left + i * step + gap / 2).toFixed(2),
        y: (top + plotH - h).toFixed(2),
        width: Math.max(step - gap, 0.5).toFixed(2),
        height: h.toFixed(2),
        'data-value': slot.value,
      });
      rect.appendChild(svg('title', {}, slot.title));
      chart.appendChild(rect);
    });
    const first = slots[0];
    const last = slots[slots.length - 1];
    chart.appendChild(svg('text', { class: 'tick', x: left, y: height - 6 }, first.label));
    if (slots.length > 1) {
      chart.appendChild(svg('text', { class: 'tick', x: width - 8, y: height - 6, 'text-anchor': 'end' }, last.label));
    }
    box.replaceChildren(chart);
    box.dataset.bars = String(slots.length);
    box.dataset.total = String(slots.reduce((sum, s) => sum + s.value, 0));
    setState(box, 'ready');
  }

  function table(box, headers, rows) {
    const t = el('table');
    const head = el('tr');
    for (const [text, cls] of headers) head.appendChild(el('th', cls ? { class: cls } : {}, text));
    t.appendChild(el('thead')).appendChild(head);
    const body = t.appendChild(el('tbody'));
    for (const row of rows) body.appendChild(row);
    box.replaceChildren(t);
    box.dataset.rows = String(rows.length);
    setState(box, 'ready');
  }

  function source(id, path) {
    document.getElementById(id).textContent = `GET ${path}`;
  }

  const totals = [];
  function total(label, value) {
    totals.push([label, value]);
    totals.sort((a, b) => a[0].localeCompare(b[0]));
    const dl = document.getElementById('totals');
    dl.replaceChildren(
      ...totals.map(([l, v]) => {
        const div = el('div');
        div.appendChild(el('dt', {}, l));
        div.appendChild(el('dd', {}, String(v)));
        return div;
      }),
    );
  }

  async function registrations(days) {
    const box = document.getElementById('chart-registrations');
    const path = `/stats/registrations?since=${days}d&by=day`;
    source('src-registrations', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'registrations', result);
    const r = result.body;
    total(`registrations (${days} d)`, r.total);
    if (r.total === 0) return setState(box, 'empty', `No registrations in the last ${days} days.`);
    const counts = new Map(r.buckets.map((b) => [b.start, b.count]));
    const lastBucket = Math.max(...r.buckets.map((b) => b.start));
    const to = Math.max(dayStart(Date.now() / 1000), lastBucket);
    barChart(box, daySlots(dayStart(r.since), to, counts));
  }

  async function battles(days) {
    const box = document.getElementById('chart-battles');
    const path = `/stats/summary?days=${days}`;
    source('src-battles', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'battles', result);
    const s = result.body;
    total(`battles (${days} d)`, s.battles);
    total(`active players (${days} d)`, s.active_players);
    if (s.battles === 0) {
      return setState(box, 'empty', `No battles in the last ${days} days (try ?days=366).`);
    }
    const counts = new Map(s.per_day.map((d) => [d.day_start, d.battles]));
    const lastDay = Math.max(...s.per_day.map((d) => d.day_start));
    const to = Math.max(dayStart(Date.now() / 1000), lastDay);
    barChart(box, daySlots(s.since, to, counts));
  }

  async function ratings() {
    const box = document.getElementById('chart-ratings');
    const path = '/stats/ratings/histogram?bins=20';
    source('src-ratings', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'the rating distribution', result);
    const h = result.body;
    total('rated players', h.players);
    if (h.players === 0) return setState(box, 'empty', 'No rated players yet.');
    barChart(
      box,
      h.bins.map((b) => ({
        label: b.from.toFixed(1),
        value: b.players,
        title: `${b.from.toFixed(1)} – ${b.to.toFixed(1)}: ${b.players} players`,
      })),
    );
    // The last label is the upper edge of the last bin.
    const labels = box.querySelectorAll('text.tick');
    if (h.bins.length > 1) labels[labels.length - 1].textContent = h.max.toFixed(1);
  }

  async function leaderboard() {
    const box = document.getElementById('leaderboard');
    const path = '/stats/leaderboard?mode=pvp&limit=20';
    source('src-leaderboard', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'the leaderboard', result);
    const players = result.body.players;
    if (players.length === 0) return setState(box, 'empty', 'No PvP battles yet.');
    const rows = players.map((p) => {
      const tr = el('tr');
      tr.appendChild(el('td', { class: 'num' }, String(p.rank)));
      tr.appendChild(el('td', { class: 'login' }, p.login));
      tr.appendChild(el('td', { class: 'num' }, p.rating.conservative.toFixed(2)));
      tr.appendChild(el('td', { class: 'num' }, `${p.rating.mu.toFixed(1)} ± ${p.rating.sigma.toFixed(1)}`));
      tr.appendChild(el('td', { class: 'num' }, String(p.battles)));
      tr.appendChild(el('td', { class: 'num' }, `${(p.win_rate * 100).toFixed(0)} %`));
      return tr;
    });
    table(
      box,
      [['#', 'num'], ['login'], ['rating', 'num'], ['μ ± σ', 'num'], ['battles', 'num'], ['win rate', 'num']],
      rows,
    );
  }

  async function flagged() {
    const box = document.getElementById('flagged');
    const path = '/ml/anomalies?limit=50';
    source('src-flagged', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'the flagged players', result);
    const a = result.body;
    total('flagged players', a.flagged);
    if (a.players.length === 0) {
      return setState(box, 'empty', `No player flagged among ${a.battles_analysed} battles analysed.`);
    }
    const rows = a.players.map((p) => {
      const tr = el('tr');
      tr.appendChild(el('td', { class: 'login' }, p.login));
      tr.appendChild(el('td', { class: 'num' }, p.score.toFixed(1)));
      const reasons = el('ul');
      for (const r of p.reasons) reasons.appendChild(el('li', { 'data-kind': r.kind }, r.sentence));
      tr.appendChild(el('td')).appendChild(reasons);
      return tr;
    });
    table(box, [['login'], ['score (z)', 'num'], ['reasons']], rows);
  }

  // Says when the figures include synthetic battles (gamegate all's demo
  // history): an operator must never take them for players.
  async function history() {
    const box = document.getElementById('synthetic');
    const result = await getJson('/admin/dashboard/history.json');
    if (result.status !== 200 || !result.body) return;
    const { battles, synthetic_battles: synthetic } = result.body;
    box.dataset.synthetic = String(synthetic);
    if (synthetic > 0) {
      box.textContent = `Synthetic demo data: ${synthetic} of the ${battles} battles shown are generated, ` +
        'not played. Remove them with: gamegate battles purge-demo';
      box.hidden = false;
    }
  }

  function start() {
    const days = windowDays();
    document.getElementById('window-days').textContent = String(days);
    const jobs = [
      ['chart-registrations', () => registrations(days)],
      ['chart-battles', () => battles(days)],
      ['chart-ratings', ratings],
      ['leaderboard', leaderboard],
      ['flagged', flagged],
      ['synthetic', history],
    ].map(([box, load]) =>
      load().catch((error) => {
        setState(document.getElementById(box), 'error', `Cannot load: ${error}`);
        throw error;
      }),
    );
    Promise.allSettled(jobs).then((results) => {
      results.forEach((r) => {
        if (r.status === 'rejected') console.error('dashboard:', r.reason);
      });
      document.body.dataset.loaded = 'true';
    });
  }

  start();
})();
