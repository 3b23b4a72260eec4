// The admin dashboard: fetches the JSON endpoints of this (admin) listener
// and draws its charts with Chart.js (vendored, served from this listener:
// /admin/dashboard/vendor/…) and its tables as plain DOM. No inline script
// or style (the page's CSP forbids them); text goes in through textContent
// only, so a login can never become markup.
//
// One window for the page: ?days=N (1–366, default 30; the selector offers
// 7, 30 and 90). Both daily charts run over the same days — today (UTC) and
// the N − 1 days before, the window of /stats/summary — and every card and
// panel says which window it shows ("last N days" or "all time").
//
// Each chart box carries data-state (loading, ready, empty, error); a drawn
// chart is a <canvas> whose Chart.js instance (Chart.getChart(canvas)) the
// browser test reads: data, drawn bars, ticks, axis titles, tooltips.
/* global Chart */
'use strict';

(function () {
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

  function setState(box, state, message) {
    box.dataset.state = state;
    if (message !== undefined) box.replaceChildren(document.createTextNode(message));
  }

  function failed(box, what, result) {
    const detail = result && result.body && result.body.detail ? ` (${result.body.detail})` : '';
    const status = result ? `HTTP ${result.status}` : 'no answer';
    setState(box, 'error', `Cannot load ${what}: ${status}${detail}.`);
  }

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  function utcDate(unix) {
    return new Date(unix * 1000).toISOString().slice(0, 10);
  }

  // "Nov 3": a date axis label.
  function shortDate(unix) {
    const d = new Date(unix * 1000);
    return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  }

  const dayStart = (unix) => Math.floor(unix / DAY) * DAY;

  // Every `step`-th of `count` category labels, counted back from the last
  // one (today, or the highest bin), so the labels are evenly spaced, about
  // 55 px apart at least on an axis `width` px wide: on a half-page chart
  // (about 540 px), 7 days → every day, 30 → weekly, 90 → every 14th day.
  function labelStep(count, width) {
    const most = Math.max(3, Math.floor(width / 55));
    return [1, 2, 3, 7, 14, 30, 61].find((s) => count / s <= most) || Math.ceil(count / most);
  }

  const COLORS = { bar: '#3f6fd8', hover: '#1f4fb8', grid: '#e6e9f0', muted: '#5b6475' };

  // A bar chart in `box`: `values[i]` drawn over category `keys[i]` (the
  // value of chart.data.labels); `tick(i)` labels the x axis, `title(i)`
  // heads the tooltip; `what` names the counted things (y axis title and
  // tooltip line), `xTitle` the x axis. Counts: the y axis starts at 0 and
  // has integer ticks only.
  function barChart(box, { keys, values, tick, title, what, xTitle }) {
    const canvas = el('canvas', { role: 'img', 'aria-label': `${what}, bar chart` });
    box.replaceChildren(canvas);
    setState(box, 'ready');
    const last = keys.length - 1;
    const axisTitle = (text) => ({ display: true, text, color: COLORS.muted, font: { size: 12 } });
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: keys,
        datasets: [{
          label: what,
          data: values,
          backgroundColor: COLORS.bar,
          hoverBackgroundColor: COLORS.hover,
          barPercentage: 0.9,
          categoryPercentage: 0.9,
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        // Drawn at once: what the page shows (and a test or a screenshot
        // reads) is the final chart.
        animation: false,
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => title(items[0].dataIndex),
              label: (item) => `${what}: ${item.parsed.y}`,
            },
          },
        },
        scales: {
          x: {
            title: axisTitle(xTitle),
            grid: { display: false },
            ticks: {
              autoSkip: false,
              maxRotation: 0,
              color: COLORS.muted,
              // `this` is the x scale, as wide as the chart: the step
              // follows the chart's width when the window is resized.
              callback(_value, index) {
                return (last - index) % labelStep(keys.length, this.width) === 0 ? tick(index) : null;
              },
            },
          },
          y: {
            beginAtZero: true,
            title: axisTitle(what),
            grid: { color: COLORS.grid },
            ticks: { precision: 0, color: COLORS.muted },
          },
        },
      },
    });
  }

  // A daily bar chart over `days` days from `from` (a UTC day start), valued
  // from `counts` (day start → value); days without data are zero.
  function dailyChart(box, from, days, counts, what) {
    const starts = Array.from({ length: days }, (_, i) => from + i * DAY);
    barChart(box, {
      keys: starts.map(utcDate),
      values: starts.map((day) => counts.get(day) || 0),
      tick: (i) => shortDate(starts[i]),
      title: (i) => `${utcDate(starts[i])} (UTC)`,
      what,
      xTitle: 'day (UTC)',
    });
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

  // The panel's "API" link: the JSON it is drawn from, not shown as text.
  function apiLink(id, path) {
    document.getElementById(id).setAttribute('href', path);
  }

  function card(id, value) {
    document.querySelector(`#${id} .value`).textContent = String(value);
  }

  // The summary of the window (battles per day and the window's first day),
  // fetched once: the battles chart draws it, the registrations chart takes
  // its first day from it.
  function summaryPath(days) {
    return `/stats/summary?days=${days}`;
  }

  // The window's first day: the summary's (the server's clock), else today
  // (UTC, this browser's clock) and the days - 1 before.
  function firstDay(summary, days) {
    if (summary.status === 200 && summary.body) return summary.body.since;
    return dayStart(Date.now() / 1000) - (days - 1) * DAY;
  }

  async function registrations(days, summary) {
    const box = document.getElementById('chart-registrations');
    const path = `/stats/registrations?since=${days}d&by=day`;
    apiLink('api-registrations', path);
    const [result, s] = await Promise.all([getJson(path), summary]);
    if (result.status !== 200 || !result.body) return failed(box, 'registrations', result);
    // `since=Nd` reaches into the day before the window (now − N days):
    // only the window's own days count.
    const from = firstDay(s, days);
    const to = from + (days - 1) * DAY;
    const buckets = result.body.buckets.filter((b) => b.start >= from && b.start <= to);
    const total = buckets.reduce((sum, b) => sum + b.count, 0);
    card('card-registrations', total);
    if (total === 0) return setState(box, 'empty', `No registrations in the last ${days} days.`);
    dailyChart(box, from, days, new Map(buckets.map((b) => [b.start, b.count])), 'registrations');
  }

  async function battles(days, summary) {
    const box = document.getElementById('chart-battles');
    apiLink('api-battles', summaryPath(days));
    const result = await summary;
    if (result.status !== 200 || !result.body) return failed(box, 'battles', result);
    const s = result.body;
    card('card-battles', s.battles);
    card('card-active', s.active_players);
    if (s.battles === 0) {
      return setState(box, 'empty', `No battles in the last ${days} days (try a longer window).`);
    }
    dailyChart(box, s.since, days, new Map(s.per_day.map((d) => [d.day_start, d.battles])), 'battles');
  }

  async function ratings() {
    const box = document.getElementById('chart-ratings');
    const path = '/stats/ratings/histogram?bins=20';
    apiLink('api-ratings', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'the rating distribution', result);
    const h = result.body;
    card('card-rated', h.players);
    if (h.players === 0) return setState(box, 'empty', 'No rated players yet.');
    const bins = h.bins;
    barChart(box, {
      keys: bins.map((b) => b.from.toFixed(1)),
      values: bins.map((b) => b.players),
      tick: (i) => bins[i].from.toFixed(1),
      title: (i) => `rating ${bins[i].from.toFixed(1)} to ${bins[i].to.toFixed(1)}`,
      what: 'players',
      xTitle: 'conservative rating μ − 3σ (lower edge of each bin)',
    });
  }

  async function leaderboard() {
    const box = document.getElementById('leaderboard');
    const path = '/stats/leaderboard?mode=pvp&limit=20';
    apiLink('api-leaderboard', path);
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
    apiLink('api-flagged', path);
    const result = await getJson(path);
    if (result.status !== 200 || !result.body) return failed(box, 'the flagged players', result);
    const a = result.body;
    card('card-flagged', a.flagged);
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

  // The window selector: its choice reloads the page with ?days=N, so the
  // window is in the address (bookmarkable) and every panel reads it once.
  function windowSelector(days) {
    const text = days === 1 ? 'today (UTC)' : `last ${days} days`;
    const select = document.getElementById('window');
    if (![...select.options].some((o) => o.value === String(days))) {
      select.appendChild(el('option', { value: String(days) }, text));
    }
    select.value = String(days);
    select.addEventListener('change', () => {
      const url = new URL(window.location.href);
      url.searchParams.set('days', select.value);
      window.location.assign(url);
    });
    for (const node of document.querySelectorAll('[data-window="days"]')) node.textContent = text;
  }

  function start() {
    // A policy violation would mean the page (or the library) tried inline
    // script or style: counted where the browser test sees it.
    document.body.dataset.cspViolations = '0';
    document.addEventListener('securitypolicyviolation', () => {
      document.body.dataset.cspViolations = String(Number(document.body.dataset.cspViolations) + 1);
    });
    const days = windowDays();
    document.body.dataset.days = String(days);
    windowSelector(days);
    const summary = getJson(summaryPath(days));
    const jobs = [
      ['chart-registrations', () => registrations(days, summary)],
      ['chart-battles', () => battles(days, summary)],
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
