// backupctl web UI: a single-page app on the JSON API (/api/v1), plain JavaScript, no build step.
//
// Rules this file keeps:
// - Vendor text (device, job, customer names, messages) only ever enters the page as text nodes or
//   attribute values (h() below); nothing here assigns innerHTML, so a device named
//   `<img src=x onerror=alert(1)>` shows as those characters.
// - No inline scripts or style attributes: the page runs under a strict Content-Security-Policy.
// - Every change goes through the API and then updates the page in place (no full reload).
// - <html data-state="loading|ready"> tells tests (and the performance measurement) when a page has
//   its data: no request in flight and the page rendered.

'use strict';

import { proposePattern, patternMatches } from './pattern.js';

/* ---------------------------------------------------------------------------------------------- */
/* small DOM helpers                                                                              */

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate', 'open']);

// h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', node, [more]) — children that are not
// nodes become text nodes.
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  add(el, kids);
  return el;
}

function add(el, ...kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

function clear(el, ...kids) {
  el.replaceChildren();
  return add(el, kids);
}

function frag(...kids) {
  return add(document.createDocumentFragment(), kids);
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

/* ---------------------------------------------------------------------------------------------- */
/* state, roles, API                                                                              */

const state = { user: null, role: null, csrf: null };
const RANK = { viewer: 0, operator: 1, admin: 2 };
const can = (role) => state.user !== null && (RANK[state.role] ?? -1) >= RANK[role];

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let inflight = 0;
let rendering = 0;

function setBusy() {
  document.documentElement.dataset.state = 'loading';
}

function maybeReady() {
  if (inflight === 0 && rendering === 0) {
    document.documentElement.dataset.state = 'ready';
    window.__bkReadyAt = performance.now();
  }
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  inflight++;
  setBusy();
  try {
    let res;
    try {
      res = await fetch(`/api/v1${path}`, opts);
    } catch (e) {
      throw new ApiError(0, 'network',
        'Cannot reach the backupctl server. Check that `backupctl serve` is running, then retry.');
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      if (res.status === 401 && path !== '/session') sessionLost();
      throw new ApiError(res.status, err.code || `http_${res.status}`,
        err.message || `The server answered ${res.status} ${res.statusText}.`);
    }
    return data;
  } finally {
    inflight--;
    queueMicrotask(maybeReady);
  }
}

const get = (path, params) => api('GET', path + qs(params));
const post = (path, body) => api('POST', path, body === undefined ? {} : body);
const del = (path, body) => api('DELETE', path, body);
const put = (path, body) => api('PUT', path, body === undefined ? {} : body);

function sessionLost() {
  if (!state.user) return;
  state.user = state.role = state.csrf = null;
  const here = location.hash.slice(1) || '/';
  if (!here.startsWith('/login')) location.hash = `#/login${qs({ next: here })}`;
}

/* ---------------------------------------------------------------------------------------------- */
/* formatting                                                                                     */

const fmtDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const fmtDate = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
const fmtNum = new Intl.NumberFormat();
const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

function utcText(iso) {
  return `${iso.replace('T', ' ').replace(/\.\d+/, '').replace('Z', '')} UTC`;
}

// A time in the viewer's zone; the UTC time on hover.
function timeEl(iso, opts = {}) {
  if (!iso) return h('span', { class: 'muted' }, opts.none || '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', null, iso);
  return h('time', { datetime: iso, title: utcText(iso) }, opts.relative ? relTime(d) : fmtDateTime.format(d));
}

function relTime(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const a = Math.abs(s);
  const unit = a < 90 ? [s, 'second'] : a < 5400 ? [Math.round(s / 60), 'minute'] :
    a < 129600 ? [Math.round(s / 3600), 'hour'] : [Math.round(s / 86400), 'day'];
  return new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(-unit[0], unit[1]);
}

function duration(fromIso, toIso) {
  if (!fromIso || !toIso) return '—';
  let s = Math.max(0, Math.round((new Date(toIso) - new Date(fromIso)) / 1000));
  if (s === 0) return '< 1 s';
  if (s < 60) return `${s} s`;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  return hh ? `${hh} h ${mm} min` : `${mm} min ${s - mm * 60} s`;
}

function interval(sec) {
  if (sec % 86400 === 0) return plural(sec / 86400, 'day');
  if (sec % 3600 === 0) return `${sec / 3600} h`;
  if (sec % 60 === 0) return `${sec / 60} min`;
  return `${sec} s`;
}

function plural(n, one, many) {
  return `${fmtNum.format(n)} ${n === 1 ? one : (many || `${one}s`)}`;
}

// Local calendar day [start, end] as epoch ms, for "YYYY-MM-DD" in the viewer's zone.
function dayRange(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  const start = new Date(y, m - 1, d, 0, 0, 0, 0);
  const end = new Date(y, m - 1, d + 1, 0, 0, 0, 0);
  return [start.getTime(), end.getTime() - 1];
}

function todayYmd() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/* ---------------------------------------------------------------------------------------------- */
/* statuses: always a text label and an icon, never colour alone                                 */

const STATUS = {
  failed: { label: 'Failed', icon: '✕', rank: 6 },
  missed: { label: 'Missed', icon: '⊘', rank: 5 },
  warning: { label: 'Warning', icon: '!', rank: 4 },
  unknown: { label: 'Unknown', icon: '?', rank: 3 },
  running: { label: 'Running', icon: '↻', rank: 2 },
  success: { label: 'Success', icon: '✓', rank: 1 },
  override: { label: 'Success (override)', icon: '✓', rank: 1 },
  none: { label: 'No runs', icon: '–', rank: 0 },
  // Daily Jobs: a slot without a run (issue 9)
  expected: { label: 'Expected (not yet)', icon: '◷', rank: 0.5 },
  down: { label: 'Unknown — source down', icon: '?', rank: 3 },
};
const WORST_FIRST = ['failed', 'missed', 'warning', 'unknown', 'running', 'success'];
const rankOf = (s) => (STATUS[s] || STATUS.unknown).rank;

function chip(status, override, original) {
  const key = override ? 'override' : (STATUS[status] ? status : 'unknown');
  const s = STATUS[key];
  const title = override && original ? `Stored status: ${original}; an override treats it as success` : null;
  return h('span', { class: `chip chip-${key}`, title, dataset: { status: key } },
    h('span', { class: 'chip-icon', 'aria-hidden': 'true' }, s.icon), s.label);
}

function runChip(run) {
  return chip(run.status, run.override, run.original_status);
}

const SOURCE_TYPE = {
  api: { label: 'API', title: 'Polled from the vendor API' },
  trigger: { label: 'Scheduler trigger', title: 'Started by a scheduler through backupctl backup' },
  email: { label: 'E-mail', title: 'Imported from a report e-mail' },
  expected: { label: 'Expected schedule', title: 'Recorded by backupctl: no backup when the schedule expected one (Missed), or a device offline' },
  push: { label: 'Push check-in', title: 'Reported by the job itself through its ping URL' },
};

// Push check-ins (issue 14): how a script reports its runs, ready to copy. The URL is the
// job's credential, so only operators see it.
function pingSnippets(url) {
  const u = String(url);
  const snip = (label, text) => h('div', { class: 'snippet' },
    h('p', { class: 'small' }, label),
    h('pre', null, h('code', null, text)),
    h('button', { type: 'button', class: 'btn btn-small', onclick: () => {
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(() => toast('Copied.'), () => toast('Select the text and copy it.'));
      else toast('Select the text and copy it.');
    } }, 'Copy'));
  return frag(
    h('p', null, 'Ping URL (keep it like a password): ', h('code', { class: 'ping-url' }, u)),
    snip('curl, around any command (start, then the exit status; the output tail as message):',
      `curl -fsS -m 10 --retry 5 "${u}/start"\nOUT=$(your-backup-command 2>&1); RC=$?\nprintf '%s' "$OUT" | tail -c 10000 | curl -fsS -m 10 --retry 5 --data-binary @- "${u}/$RC"`),
    snip('The same with backupctl (a run id makes retries safe):', `backupctl ping "${u}" -- your-backup-command --its-options`),
    snip('cron:', `30 1 * * * backupctl ping "${u}" -- /usr/local/bin/nightly-backup`),
    snip('systemd (in the service unit):', `[Service]\nExecStart=/usr/bin/backupctl ping "${u}" -- /usr/local/bin/nightly-backup`));
}

// Freshness (issue 9): the job's last real run against its stale thresholds. A stale job is
// never shown green, whatever the status of its latest run.
const FRESH = {
  ok: null,
  old: { label: 'Old', cls: 'warning', title: 'The last backup is older than the warning threshold' },
  stale: { label: 'Stale', cls: 'failed', title: 'The last backup is older than the critical threshold' },
  never_new: { label: 'Never ran', cls: 'warning', title: 'No backup yet; the job is new' },
  never_old: { label: 'Never ran', cls: 'failed', title: 'No backup since the job was first seen, longer than the critical threshold' },
};

// "Stale — last run 3 days ago"; null when fresh.
function freshBadge(state, lastRunAt) {
  const f = FRESH[state];
  if (!f) return null;
  const when = lastRunAt && (state === 'old' || state === 'stale') ? ` — last run ${relTime(new Date(lastRunAt))}` : '';
  return h('span', { class: `fresh fresh-${f.cls}`, title: f.title, dataset: { freshness: state } },
    h('span', { 'aria-hidden': 'true' }, f.cls === 'failed' ? '⚠ ' : '◔ '), `${f.label}${when}`);
}

// A job's status: its latest run, but a stale job never shows a green success.
function jobChip(j) {
  const f = FRESH[j.freshness && typeof j.freshness === 'object' ? j.freshness.state : j.freshness];
  const st = j.last_run ? (j.last_run.override ? 'success' : j.last_run.status) : j.status;
  if (f && (st === 'success' || st === 'none' || !st)) {
    return h('span', { class: `chip chip-${f.cls}`, dataset: { status: f.cls, freshness: 'not-ok' }, title: f.title },
      h('span', { class: 'chip-icon', 'aria-hidden': 'true' }, f.cls === 'failed' ? '✕' : '!'), f.label);
  }
  return j.last_run ? runChip(j.last_run) : chip(j.status);
}

function anomalyNote(run) {
  return run && run.anomaly ? h('span', { class: 'anomaly', title: 'Duration anomaly: the run took much less or much more than usual' },
    h('span', { 'aria-hidden': 'true' }, '⏱ '), run.anomaly) : null;
}

function sourceBadge(type) {
  const t = SOURCE_TYPE[type] || { label: type || 'unknown', title: 'Source type' };
  return h('span', { class: `badge badge-src badge-src-${SOURCE_TYPE[type] ? type : 'other'}`, title: t.title }, t.label);
}

function kindBadge(kind) {
  return kind ? h('span', { class: 'badge badge-kind' }, kind) : null;
}

// A run can be reviewed once it has a final status: reviewing freezes a run, so one still
// running would stay "running" and hide the failure that may follow (the API answers 409).
function reviewable(run) {
  return !run.reviewed && run.status !== 'running';
}

function waitingCell() {
  return h('span', { class: 'rev rev-wait', title: 'A run can be reviewed once it has a final status' },
    h('span', { 'aria-hidden': 'true' }, '◷ '), 'Running: review when it ends');
}

function skippedText(n) {
  return n ? ` ${plural(n, 'run')} still running ${n === 1 ? 'was' : 'were'} skipped.` : '';
}

function reviewedCell(run) {
  if (!run.reviewed) return h('span', { class: 'rev rev-no' }, h('span', { 'aria-hidden': 'true' }, '○ '), 'Not reviewed');
  const who = run.reviewed_by ? ` by ${run.reviewed_by}` : '';
  return h('span', { class: 'rev rev-yes', title: run.reviewed_at ? `Reviewed${who} at ${utcText(run.reviewed_at)}` : null },
    h('span', { 'aria-hidden': 'true' }, '● '), 'Reviewed');
}

function jobLabel(job, customer) {
  const cust = customer && customer.name;
  return h('span', { class: 'joblabel' },
    cust ? h('span', { class: 'cust' }, cust) : null,
    cust ? h('span', { class: 'sep', 'aria-hidden': 'true' }, ' › ') : null,
    h('span', { class: 'jobname' }, job && job.name ? job.name : `job ${job ? job.id : '?'}`));
}

function jobLink(job, customer) {
  return h('a', { href: `#/jobs/${Number(job.id)}`, class: 'joblink' }, jobLabel(job, customer));
}

/* ---------------------------------------------------------------------------------------------- */
/* shared widgets                                                                                 */

const toastBox = () => document.getElementById('toasts');

function toast(text, kind = 'ok') {
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { 'aria-hidden': 'true', class: 'toast-icon' }, kind === 'error' ? '✕ ' : '✓ '), text);
  toastBox().append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 5000);
}

function emptyState(title, hint, ...extra) {
  return h('div', { class: 'empty', role: 'status' },
    h('p', { class: 'empty-title' }, title), hint ? h('p', { class: 'empty-hint' }, hint) : null, extra);
}

function errorHint(err) {
  if (err.status === 0) return err.message;
  if (err.status === 403) return 'Your role does not allow this. Ask an admin if you need it.';
  if (err.status === 404) return 'It may have been deleted, or the link is wrong.';
  if (err.status === 429) return 'Too many attempts: wait a moment, then retry.';
  if (err.status >= 500) return 'The server failed; its log says why. Retry in a moment.';
  return null;
}

function errorState(err, retry) {
  return h('div', { class: 'error-state', role: 'alert' },
    h('p', { class: 'empty-title' }, h('span', { 'aria-hidden': 'true' }, '✕ '), `Could not load this: ${err.message}`),
    errorHint(err) && err.status !== 0 ? h('p', { class: 'empty-hint' }, errorHint(err)) : null,
    retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, 'Retry') : null);
}

function actionError(err) {
  const hint = errorHint(err);
  toast(hint && err.status !== 0 ? `${err.message} — ${hint}` : err.message, 'error');
}

// Run fn with btn disabled and a busy label; errors become a toast.
async function withBusy(btn, fn) {
  const label = btn ? btn.textContent : '';
  if (btn) {
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
  }
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError) actionError(e);
    else throw e;
    return undefined;
  } finally {
    if (btn && btn.isConnected) {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
      btn.textContent = label;
    }
  }
}

// "1–50 of 1,234" with previous/next and a page size.
function pager({ total, limit, offset, onPage, sizes = [50, 100, 250, 1000] }) {
  if (!total) return null;
  const from = Math.min(total, offset + 1);
  const to = Math.min(total, offset + limit);
  const sel = h('select', { 'aria-label': 'Rows per page', onchange: () => onPage(0, Number(sel.value)) },
    sizes.map((s) => h('option', { value: String(s), selected: s === limit }, `${s} per page`)));
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', class: 'btn btn-small', disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit), limit) }, '‹ Previous'),
    h('span', { class: 'pager-pos' }, `${fmtNum.format(from)}–${fmtNum.format(to)} of ${fmtNum.format(total)}`),
    h('button', { type: 'button', class: 'btn btn-small', disabled: offset + limit >= total, onclick: () => onPage(offset + limit, limit) }, 'Next ›'),
    sel);
}

// A table: cols = [{label, cls, sort}], rows = array of <tr>.
function table(cols, rows, opts = {}) {
  const ths = cols.map((c) => {
    if (!c.sortKey || !opts.onSort) return h('th', { scope: 'col', class: c.cls }, c.label);
    const active = opts.sort && opts.sort.key === c.sortKey;
    const dir = active ? opts.sort.dir : null;
    return h('th', { scope: 'col', class: c.cls, 'aria-sort': active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', { type: 'button', class: 'th-sort', onclick: () => opts.onSort(c.sortKey) },
        c.label, h('span', { class: 'sort-ind', 'aria-hidden': 'true' }, active ? (dir === 'asc' ? ' ▲' : ' ▼') : ' ↕')));
  });
  // opts.stack: on a narrow screen each row is a block of "label: value" lines (CSS), so a
  // management table needs no sideways scroll
  if (opts.stack) {
    for (const tr of rows) [...tr.children].forEach((td, i) => { if (cols[i] && cols[i].label) td.dataset.label = cols[i].label; });
  }
  return h('div', { class: 'table-wrap' },
    h('table', { class: ['grid', opts.cls, opts.stack ? 'stack' : null] },
      opts.caption ? h('caption', { class: 'sr-only' }, opts.caption) : null,
      h('thead', null, h('tr', null, ths)), h('tbody', null, rows)));
}

function pageHead(title, ...right) {
  return h('div', { class: 'page-head' },
    h('h1', { tabindex: '-1', id: 'page-title' }, title), h('div', { class: 'page-actions' }, right));
}

function section(title, ...kids) {
  const id = nextId('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), kids);
}

function field(label, control, hint) {
  const id = control.id || nextId('f');
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', { class: 'muted' }, hint) : null);
}

/* ---------------------------------------------------------------------------------------------- */
/* layout, navigation, routing                                                                    */

const NAV = [
  { href: '#/', label: 'Dashboard', match: /^\/$/ },
  { href: '#/daily', label: 'Daily Jobs', match: /^\/daily/ },
  { href: '#/runs', label: 'Run Checks', match: /^\/runs/, badge: true },
  { href: '#/jobs', label: 'Jobs', match: /^\/jobs/ },
  { href: '#/customers', label: 'Customers', match: /^\/customers/ },
  { href: '#/sources', label: 'Sources', match: /^\/sources/ },
  { href: '#/alerts', label: 'Alerts', match: /^\/alerts/ },
  { href: '#/inbox', label: 'Inbox', match: /^\/inbox/ },
  { href: '#/overrides', label: 'Overrides', match: /^\/overrides/ },
  { href: '#/audit', label: 'Audit log', match: /^\/audit/, role: 'admin' },
  { href: '#/users', label: 'Users', match: /^\/users/, role: 'admin' },
];

let mainEl;
let navEl;
let badgeEl;

function shell() {
  const app = document.getElementById('app');
  badgeEl = h('span', { class: 'nav-badge', hidden: true });
  navEl = h('nav', { class: 'topnav', 'aria-label': 'Main' });
  mainEl = h('main', { id: 'main', tabindex: '-1' });
  clear(app,
    h('a', { href: '#main', class: 'skip', onclick: (e) => { e.preventDefault(); mainEl.focus(); } }, 'Skip to content'),
    h('header', { class: 'topbar' },
      h('a', { href: '#/', class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◆'), 'backupctl'),
      navEl, h('div', { class: 'userbox', id: 'userbox' })),
    mainEl,
    h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' }));
}

function renderNav(path) {
  const items = state.user ? NAV.filter((n) => !n.role || can(n.role)) : [];
  clear(navEl, h('ul', null, items.map((n) => h('li', null,
    h('a', { href: n.href, class: n.match.test(path) ? 'active' : null, 'aria-current': n.match.test(path) ? 'page' : null },
      n.label, n.badge ? badgeEl : null)))));
  const ub = document.getElementById('userbox');
  if (!state.user) return clear(ub);
  clear(ub,
    h('span', { class: 'who', title: `Times are shown in ${TZ}` }, h('span', { class: 'who-name' }, state.user), ' ',
      h('span', { class: `badge badge-role role-${state.role}` }, state.role)),
    h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: logout }, 'Log out'));
  return null;
}

async function refreshBadge(known) {
  try {
    const n = known !== undefined ? known : (await get('/runs', { reviewed: 'false', limit: 1 })).total;
    badgeEl.hidden = !n;
    badgeEl.textContent = n > 9999 ? '9999+' : String(n);
    badgeEl.title = `${plural(n, 'unreviewed run')}`;
  } catch (e) {
    badgeEl.hidden = true;
  }
}

const ROUTES = [
  [/^\/login$/, pageLogin, { public: true }],
  [/^\/$/, pageDashboard],
  [/^\/daily$/, pageDaily],
  [/^\/runs$/, pageRunChecks],
  [/^\/jobs$/, pageJobs],
  [/^\/jobs\/(\d{1,18})$/, pageJob],
  [/^\/customers$/, pageCustomers],
  [/^\/sources$/, pageSources],
  [/^\/alerts$/, pageAlerts],
  [/^\/overrides$/, pageOverrides],
  [/^\/audit$/, pageAudit, { role: 'admin' }],
  [/^\/users$/, pageUsers, { role: 'admin' }],
  [/^\/inbox$/, pageInbox],
];

let navSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  let path = (q < 0 ? raw : raw.slice(0, q)) || '/';
  try {
    path = decodeURIComponent(path);
  } catch (e) {
    /* a malformed escape: route the path as it is (it matches no page) */
  }
  return { path, params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)), raw };
}

// Change the query of the current route (filters, paging) and re-render.
function setParams(changes, replace = false) {
  const { path, params } = parseHash();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '' || v === false) params.delete(k);
    else params.set(k, String(v));
  }
  const s = params.toString();
  const url = `#${path}${s ? `?${s}` : ''}`;
  if (replace) {
    history.replaceState(null, '', url);
    route();
  } else {
    location.hash = url;
  }
}

async function route() {
  const seq = ++navSeq;
  const { path, params, raw } = parseHash();
  let found = ROUTES.find(([re]) => re.test(path));
  if (!state.user && !(found && found[2] && found[2].public)) {
    location.replace(`#/login${qs({ next: raw })}`);
    return;
  }
  if (!found) found = [null, pageNotFound, {}];
  const [re, page, opts = {}] = found;
  renderNav(path);
  closeDialog();
  const root = h('div', { class: 'page' });
  clear(mainEl, root);
  const ctx = {
    params,
    path,
    match: re ? path.match(re) : null,
    alive: () => seq === navSeq,
    root,
  };
  rendering++;
  setBusy();
  try {
    if (opts.role && !can(opts.role)) {
      add(root, pageHead('Not allowed'), emptyState(`This page needs the ${opts.role} role.`, 'Ask an admin if you need it.'));
    } else {
      await page(ctx);
    }
  } catch (e) {
    if (!(e instanceof ApiError)) console.error(e);
    if (ctx.alive()) clear(root, pageHead('Something went wrong'), errorState(e, () => route()));
  } finally {
    rendering--;
    queueMicrotask(maybeReady);
  }
  if (ctx.alive() && !document.activeElement.closest('input, select, textarea')) {
    const t = document.getElementById('page-title');
    if (t && window.__bkNavigated) t.focus({ preventScroll: true });
  }
  window.__bkNavigated = true;
}

function pageNotFound(ctx) {
  add(ctx.root, pageHead('Page not found'), emptyState('There is no page at this address.', null,
    h('a', { href: '#/', class: 'btn' }, 'Go to the dashboard')));
}

/* ---------------------------------------------------------------------------------------------- */
/* login / logout                                                                                 */

async function pageLogin(ctx) {
  document.title = 'Log in — backupctl';
  const next = ctx.params.get('next') || '/';
  const user = h('input', { name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h('form', {
    class: 'login card', onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      btn.disabled = true;
      try {
        const s = await post('/session', { username: user.value, password: pass.value });
        state.user = s.user;
        state.role = s.role;
        state.csrf = s.csrf_token || null;
        refreshBadge();
        location.hash = `#${next.startsWith('/') && !next.startsWith('/login') ? next : '/'}`;
      } catch (err) {
        msg.textContent = err.status === 401 ? 'Wrong username or password. Check both and try again.' :
          err.status === 429 ? `${err.message}` : `Could not log in: ${err.message}`;
        pass.select();
      } finally {
        btn.disabled = false;
      }
    },
  },
  h('h1', { id: 'page-title', tabindex: '-1' }, 'Log in to backupctl'),
  field('User name', user), field('Password', pass), msg, btn,
  h('p', { class: 'muted small' }, 'Accounts are created with ', h('code', null, 'backupctl user add'), '.'));
  if (state.user) {
    add(ctx.root, h('div', { class: 'login card' }, h('p', null, `You are logged in as ${state.user}.`),
      h('a', { class: 'btn', href: '#/' }, 'Go to the dashboard')));
    return;
  }
  add(ctx.root, form);
  queueMicrotask(() => user.focus());
}

async function logout() {
  try {
    await del('/session');
  } catch (e) {
    /* the session may be gone already */
  }
  state.user = state.role = state.csrf = null;
  location.hash = '#/login';
  toast('Logged out.');
}

/* ---------------------------------------------------------------------------------------------- */
/* Dashboard                                                                                      */

async function pageDashboard(ctx) {
  document.title = 'Dashboard — backupctl';
  const today = todayYmd();
  const [from] = dayRange(today);
  const body = h('div', { class: 'dash' });
  add(ctx.root, pageHead('Dashboard', h('span', { class: 'muted' }, `Today, ${fmtDate.format(new Date())} (${TZ})`)), body);

  // The Missed tile counts the unreviewed Missed runs since yesterday: a night's slot starts on
  // one day and is found missed on the next, so "today" alone would show 0 every morning.
  const sinceYesterday = from - 86400000;
  const counts = WORST_FIRST.map((s) => (s === 'missed'
    ? get('/runs', { from: sinceYesterday, status: s, reviewed: 'false', limit: 1 })
    : get('/runs', { from, status: s, limit: 1 })));
  const [unrev, jobsAll, failing, missed, stale, sources, ...byStatus] = await Promise.allSettled([
    get('/runs', { reviewed: 'false', limit: 1 }),
    get('/jobs', { limit: 1 }),
    get('/jobs', { status: 'failed', limit: 25, sort: 'name' }),
    get('/jobs', { status: 'missed', limit: 25, sort: 'name' }),
    get('/jobs', { freshness: 'critical', limit: 25, sort: 'name' }),
    get('/sources', { limit: 1000 }),
    ...counts,
  ]);
  if (!ctx.alive()) return;
  const firstErr = [unrev, jobsAll, failing, missed, stale, sources, ...byStatus].find((r) => r.status === 'rejected');
  if (firstErr && firstErr.reason.status === 0) {
    clear(body, errorState(firstErr.reason, () => route()));
    return;
  }

  // Today's runs by status.
  const tiles = h('div', { class: 'tiles' });
  WORST_FIRST.forEach((s, i) => {
    const r = byStatus[i];
    const n = r.status === 'fulfilled' ? r.value.total : null;
    add(tiles, h('a', {
      class: ['tile', `tile-${s}`, n ? null : 'tile-zero'],
      href: s === 'missed' ? '#/runs' : `#/daily${qs({ date: today, status: s })}`,
      title: s === 'missed' ? 'Unreviewed Missed runs since yesterday: review them in Run Checks' : null,
      dataset: { status: s },
    }, h('span', { class: 'tile-n' }, n === null ? '?' : fmtNum.format(n)),
    h('span', { class: 'tile-label' }, h('span', { 'aria-hidden': 'true', class: 'tile-icon' }, STATUS[s].icon), ` ${STATUS[s].label}`),
    s === 'missed' ? h('span', { class: 'tile-sub small' }, 'unreviewed, since yesterday') : null));
  });
  const nStale = stale.status === 'fulfilled' ? stale.value.total : null;
  add(tiles, h('a', {
    class: ['tile', 'tile-stale', nStale ? null : 'tile-zero'], href: `#/jobs${qs({ freshness: 'critical' })}`, dataset: { status: 'stale' },
    title: 'Jobs whose last backup is older than their critical threshold, or that never ran since long',
  }, h('span', { class: 'tile-n' }, nStale === null ? '?' : fmtNum.format(nStale)),
  h('span', { class: 'tile-label' }, h('span', { 'aria-hidden': 'true', class: 'tile-icon' }, '⚠'), ' Stale jobs'),
  h('span', { class: 'tile-sub small' }, 'no recent backup')));
  const nUnrev = unrev.status === 'fulfilled' ? unrev.value.total : null;
  if (nUnrev !== null) refreshBadge(nUnrev);
  const nJobs = jobsAll.status === 'fulfilled' ? jobsAll.value.total : null;

  add(body,
    h('div', { class: 'dash-top' },
      section("Today's runs by status", tiles,
        h('p', { class: 'muted small' }, 'Runs that started today in your time zone (Missed: unreviewed since yesterday; Stale: jobs now). Select a count to see them.')),
      h('a', { class: ['card', 'unrev', nUnrev ? 'unrev-some' : 'unrev-none'], href: '#/runs', id: 'unreviewed-card' },
        h('span', { class: 'unrev-n' }, nUnrev === null ? '?' : fmtNum.format(nUnrev)),
        h('span', { class: 'unrev-label' }, nUnrev === 1 ? 'unreviewed run' : 'unreviewed runs'),
        h('span', { class: 'unrev-go' }, nUnrev ? 'Open Run Checks →' : 'Nothing to review ✓'),
        nJobs !== null ? h('span', { class: 'muted small' }, `${plural(nJobs, 'job')} monitored`) : null)));

  // Jobs that need attention: failed, then missed, then stale.
  const attention = [];
  const seen = new Set();
  for (const r of [failing, missed, stale]) {
    if (r.status !== 'fulfilled') continue;
    for (const j of r.value.items) if (!seen.has(j.id)) { seen.add(j.id); attention.push(j); }
  }
  const more = [failing, missed, stale].reduce((a, r) => a + (r.status === 'fulfilled' ? Math.max(0, r.value.total - r.value.items.length) : 0), 0);
  const attnBody = failing.status === 'rejected' ? errorState(failing.reason, () => route()) :
    attention.length === 0 ? emptyState('No job is failing, missed or stale right now.', 'Jobs whose latest run failed or was missed, and jobs with no recent backup, are listed here.') :
      frag(jobsTable(attention, { compact: true }),
        more ? h('p', null, h('a', { href: `#/jobs${qs({ status: 'failed' })}` }, `${plural(more, 'more job')} need attention — see all failing jobs`)) : null);
  add(body, section('Failing, missed and stale jobs', attnBody));

  // Sources health.
  add(body, section('Sources', sources.status === 'fulfilled'
    ? sourcesTable(sources.value.items, { compact: true, onChange: () => route() })
    : errorState(sources.reason, () => route())));
}

/* ---------------------------------------------------------------------------------------------- */
/* Jobs list (also the customer drill-down)                                                       */

function jobsTable(items, opts = {}) {
  const cols = [{ label: 'Status' }, { label: 'Customer › Job' }, { label: 'Kind' }, { label: 'Source' },
    { label: 'Schedule', cls: 'col-sched' }, opts.compact ? null : { label: 'Last 28 days', cls: 'col-hist' }, { label: 'Last backup' }, { label: 'Reviewed' }].filter(Boolean);
  return table(cols, items.map((j) => h('tr', { dataset: { job: j.id, freshness: j.freshness || '' } },
    h('td', null, jobChip(j)),
    h('td', null, jobLink(j, j.customer), j.retired ? h('span', { class: 'badge' }, 'retired') : null),
    h('td', null, kindBadge(j.kind)),
    h('td', null, j.source),
    h('td', { class: 'small col-sched' }, j.schedule || h('span', { class: 'muted' }, 'not known yet')),
    opts.compact ? null : h('td', { class: 'col-hist' }, histStrip(j.history, j.history_start)),
    h('td', null, timeEl(j.last_backup_at, { none: 'never ran' }), ' ', freshBadge(j.freshness, null)),
    h('td', null, j.last_run ? reviewedCell(j.last_run) : h('span', { class: 'muted' }, '—')))), { caption: 'Jobs' });
}

async function pageJobs(ctx) {
  document.title = 'Jobs — backupctl';
  const p = ctx.params;
  const limit = clampLimit(p.get('limit'), 50);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  const filters = { customer: p.get('customer') || '', status: p.get('status') || '', kind: p.get('kind') || '', q: p.get('q') || '', sort: p.get('sort') || 'name', freshness: p.get('freshness') || '' };
  const list = h('div', { 'aria-live': 'polite' });
  const customers = await customerOptions();
  if (!ctx.alive()) return;
  const freshSel = h('select', { name: 'freshness', dataset: { label: 'Freshness' } }, h('option', { value: '' }, 'Any freshness'),
    [['ok', 'Recent backup'], ['old', 'Old (warning)'], ['stale', 'Stale (critical)'], ['never', 'Never ran'], ['critical', 'Stale or never ran (critical)']]
      .map(([v, l]) => h('option', { value: v, selected: v === filters.freshness }, l)));
  add(ctx.root, pageHead('Jobs'), filterBar(filters, customers, { statuses: [...WORST_FIRST, 'none'], text: 'Job or customer name', sort: true, kinds: true, extra: [freshSel] }), list);
  try {
    const res = await get('/jobs', { ...filters, extras: 'true', limit, offset });
    if (!ctx.alive()) return;
    if (!res.items.length) {
      add(list, emptyState('No job matches these filters.', res.total === 0 && !filters.q && !filters.status && !filters.customer && !filters.freshness && !filters.kind
        ? 'Jobs appear after the first poll of a source: check Sources.' : 'Clear a filter to see more.'));
    } else {
      add(list, jobsTable(res.items), pager({ total: res.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }));
    }
  } catch (e) {
    if (e instanceof ApiError) add(list, errorState(e, () => route()));
    else throw e;
  }
}

function clampLimit(v, dflt) {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : dflt;
}

let customerCache = null;

async function customerOptions() {
  if (customerCache && Date.now() - customerCache.at < 60000) return customerCache.items;
  try {
    const res = await get('/customers', { limit: 1000 });
    const names = new Map();
    for (const c of res.items) names.set(c.name, (names.get(c.name) || 0) + 1);
    const items = res.items.map((c) => ({
      id: c.id,
      label: names.get(c.name) > 1 ? `${c.name} (${c.source} ${c.external_id || c.id})` : c.name,
    })).sort((a, b) => naturalCmp(a.label, b.label) || a.id - b.id);
    customerCache = { at: Date.now(), items };
    return items;
  } catch (e) {
    return [];
  }
}

// Customer / status / text filters that live in the URL (so a filtered view is a link); with
// opts.kinds a job kind, opts.sources a source, opts.dates a from/to day range.
function filterBar(filters, customers, opts) {
  const cust = h('select', { name: 'customer' }, h('option', { value: '' }, 'All customers'),
    customers.map((c) => h('option', { value: String(c.id), selected: String(c.id) === filters.customer }, c.label)));
  const st = h('select', { name: 'status' }, h('option', { value: '' }, 'All statuses'),
    opts.statuses.map((s) => h('option', { value: s, selected: s === filters.status }, STATUS[s].label)));
  const text = h('input', { type: 'search', name: 'q', value: filters.q || '', placeholder: opts.text, 'aria-keyshortcuts': '/' });
  const kinds = [...JOB_KINDS];
  if (filters.kind && !kinds.includes(filters.kind)) kinds.push(filters.kind);
  const kind = opts.kinds ? h('select', { name: 'kind' }, h('option', { value: '' }, 'All kinds'),
    kinds.map((k) => h('option', { value: k, selected: k === filters.kind }, k))) : null;
  const src = opts.sources ? h('select', { name: 'source' }, h('option', { value: '' }, 'All sources'),
    opts.sources.map((n) => h('option', { value: n, selected: n === filters.source }, n))) : null;
  const from = opts.dates ? h('input', { type: 'date', name: 'from', value: filters.from || '', max: todayYmd() }) : null;
  const to = opts.dates ? h('input', { type: 'date', name: 'to', value: filters.to || '', max: todayYmd() }) : null;
  const extra = opts.extra || [];
  const sort = opts.sort ? h('select', { name: 'sort' },
    h('option', { value: 'name', selected: filters.sort === 'name' }, 'Customer, job name'),
    h('option', { value: 'id', selected: filters.sort === 'id' }, 'First seen')) : null;
  const form = h('form', {
    class: 'filters', role: 'search', onsubmit: (e) => {
      e.preventDefault();
      const ch = { customer: cust.value, status: st.value, q: text.value.trim(), offset: 0 };
      if (sort) ch.sort = sort.value;
      if (kind) ch.kind = kind.value;
      if (src) ch.source = src.value;
      if (from) ch.from = from.value;
      if (to) ch.to = to.value;
      for (const x of extra) ch[x.name] = x.value;
      setParams(ch);
    },
  },
  extra.map((x) => field(x.dataset.label, x)),
  field('Customer', cust), src ? field('Source', src) : null, kind ? field('Kind', kind) : null, field('Status', st),
  field(opts.textLabel || 'Search', text),
  from ? field('From', from) : null, to ? field('To', to) : null,
  sort ? field('Sort by', sort) : null,
  h('div', { class: 'field field-btn' }, h('button', { type: 'submit', class: 'btn' }, 'Apply')));
  for (const el of [cust, st, sort, kind, src, from, to, ...extra]) if (el) el.addEventListener('change', () => form.requestSubmit());
  return form;
}

// Job kinds the providers report (Cove: server, workstation, m365; HYCU: vm, application, …).
const JOB_KINDS = ['server', 'workstation', 'm365', 'vm', 'application', 'share', 'volumegroup', 'unknown'];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
// "Customer 2" before "Customer 10".
const naturalCmp = (a, b) => collator.compare(a, b);

function ymdParam(v) {
  return /^\d{4}-\d{2}-\d{2}$/.test(v || '') ? v : '';
}

let sourceCache = null;

async function sourceOptions() {
  if (sourceCache && Date.now() - sourceCache.at < 60000) return sourceCache.items;
  try {
    const res = await get('/sources');
    const items = res.items.map((s) => s.name).sort(naturalCmp);
    sourceCache = { at: Date.now(), items };
    return items;
  } catch (e) {
    return [];
  }
}

/* 28-day history strip of a list row (the API's extras: one letter per UTC day, oldest first):
 * a symbol per day, so it reads without colour, and the date and status on hover. */
const HIST = {
  S: { word: 'Success', sym: '✓', cls: 'S' },
  W: { word: 'Warning', sym: '!', cls: 'W' },
  F: { word: 'Failed', sym: '✕', cls: 'F' },
  M: { word: 'Missed', sym: '⊘', cls: 'M' },
  R: { word: 'Running', sym: '↻', cls: 'R' },
  U: { word: 'Unknown', sym: '?', cls: 'U' },
  '-': { word: 'No run', sym: '·', cls: 'N' },
};

function histStrip(history, start) {
  if (typeof history !== 'string' || !history) return h('span', { class: 'hstrip hstrip-none muted small' }, '—');
  const d0 = /^\d{4}-\d{2}-\d{2}$/.test(start || '') ? Date.parse(`${start}T00:00:00Z`) : NaN;
  const counts = {};
  const cells = [...history].map((c, i) => {
    const d = HIST[c] || HIST.U;
    counts[d.cls] = (counts[d.cls] || 0) + 1;
    const day = Number.isFinite(d0) ? new Date(d0 + i * 86400000).toISOString().slice(0, 10) : `day ${i + 1}`;
    return h('span', { class: `hs hs-${d.cls}`, title: `${day}: ${d.word}` }, d.sym);
  });
  const summary = ['F', 'M', 'W', 'U', 'R', 'S'].filter((k) => counts[k]).map((k) => `${counts[k]} ${HIST[k].word.toLowerCase()}`).join(', ');
  return h('span', { class: 'hstrip', role: 'img', dataset: { history }, 'aria-label': `Last ${history.length} days: ${summary || 'no runs'}` }, cells);
}

// Cove session status codes (the vendor's words beside the digit); other vendors send words.
const COVE_SESSION = {
  1: 'In progress', 2: 'Failed', 3: 'Aborted', 5: 'Completed', 6: 'Interrupted', 7: 'Not started',
  8: 'Completed with errors', 9: 'In progress with faults', 10: 'Over quota', 11: 'No selection', 12: 'Restarted',
};

function vendorStatus(raw) {
  if (raw === null || raw === undefined || raw === '') return null;
  const word = /^\d{1,2}$/.test(raw) ? COVE_SESSION[Number(raw)] : null;
  return h('span', { class: 'vstatus', title: 'Status as the vendor reported it' }, h('code', null, raw), word ? ` ${word}` : null);
}

const DS_WORD = { success: 'OK', warning: 'warning', failed: 'failed', missed: 'missed', running: 'running', unknown: 'unknown' };

// "SQL Server failed, Files OK": the datasources that did not succeed by name, then the rest.
function datasourceText(objs) {
  if (!objs || !objs.length) return null;
  const bad = objs.filter((o) => o.status !== 'success');
  const ok = objs.filter((o) => o.status === 'success');
  const parts = bad.slice(0, 3).map((o) => h('span', { class: `ds ds-${o.status}`, title: [o.raw_status && `${o.raw_status}${COVE_SESSION[o.raw_status] ? ` ${COVE_SESSION[o.raw_status]}` : ''}`, o.message].filter(Boolean).join(' — ') || null },
    `${o.name} ${DS_WORD[o.status] || o.status}`));
  if (bad.length > 3) parts.push(h('span', { class: 'ds' }, `${bad.length - 3} more not OK`));
  if (ok.length) parts.push(h('span', { class: 'ds ds-success' }, ok.length <= 2 ? `${ok.map((o) => o.name).join(', ')} OK` : `${ok.length} others OK`));
  const out = h('span', { class: 'dslist' });
  parts.forEach((x, i) => add(out, i ? ', ' : null, x));
  return out;
}

function runRemarkBadge(n) {
  return n ? h('span', { class: 'badge badge-remark', dataset: { remarks: n }, title: plural(n, 'remark') },
    h('span', { 'aria-hidden': 'true' }, '✎ '), h('span', { class: 'sr-only' }, 'Remarks: '), String(n)) : null;
}

/* ---------------------------------------------------------------------------------------------- */
/* Daily Jobs                                                                                     */

// One row per job of the day (GET /daily): what was expected (the job's slots that day: ran,
// Missed, Expected (not yet), Unknown — source down) with its runs, and the jobs without a slot
// that day that ran anyway. Worst first.
const DAILY_STATUSES = ['failed', 'missed', 'warning', 'unknown', 'running', 'expected', 'success'];

// The chip of a job-day: its latest run's when it ran, else the state of its slot.
function dailyChip(it) {
  const run = it.runs && it.runs[0];
  if (it.status === 'expected') return chip('expected');
  if (it.status === 'unknown' && !run && (it.slots || []).some((x) => x.state === 'unknown')) return chip('down');
  if (it.status === 'missed') return chip('missed');
  if (run && (run.override ? 'success' : run.status) === it.status) return runChip(run);
  return chip(it.status);
}

const fmtTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function slotText(it) {
  const slots = it.slots || [];
  if (!it.expected) return h('span', { class: 'muted small', title: 'No slot of its schedule falls on this day (irregular or not learned yet)' }, 'not expected that day');
  const first = slots[0];
  const label = slots.length > 1 ? `${slots.length} slots from ${fmtTime.format(new Date(first.start_at))}` : `at ${fmtTime.format(new Date(first.start_at))}`;
  const due = slots[slots.length - 1].due_at;
  return h('span', { class: 'small', title: due ? `Missed if no run by ${utcText(due)}` : null }, label,
    due ? h('span', { class: 'muted' }, `, due ${fmtTime.format(new Date(due))}`) : null);
}

async function pageDaily(ctx) {
  document.title = 'Daily Jobs — backupctl';
  const p = ctx.params;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(p.get('date') || '') ? p.get('date') : todayYmd();
  const limit = clampLimit(p.get('limit'), 250);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  const filters = { customer: p.get('customer') || '', status: p.get('status') || '', kind: p.get('kind') || '', q: p.get('q') || '' };
  if (filters.status && !DAILY_STATUSES.includes(filters.status)) filters.status = '';
  const sortKey = p.get('sort') || 'status';
  const sortDir = p.get('dir') === 'asc' ? 'asc' : (p.get('dir') === 'desc' ? 'desc' : (sortKey === 'status' ? 'desc' : 'asc'));
  const [from] = dayRange(date);
  const dateIn = h('input', { type: 'date', name: 'date', value: date, max: todayYmd(), dataset: { label: 'Date' } });
  const customers = await customerOptions();
  if (!ctx.alive()) return;
  const shift = (days) => {
    const d = new Date(from);
    d.setDate(d.getDate() + days);
    setParams({ date: `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`, offset: 0 });
  };
  const list = h('div');
  add(ctx.root,
    pageHead('Daily Jobs',
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => shift(-1) }, '‹ Previous day'),
      h('button', { type: 'button', class: 'btn btn-small', disabled: date >= todayYmd(), onclick: () => shift(1) }, 'Next day ›')),
    h('p', { class: 'lead' }, 'What should have run that day, and what did: every job its schedule expected — with its run, “Missed”, or “Expected (not yet)” — and the jobs without a slot that day that ran.'),
    filterBar(filters, customers, { statuses: DAILY_STATUSES, text: 'Job or customer name', textLabel: 'Search', kinds: true, extra: [dateIn] }),
    list);
  let res;
  try {
    res = await get('/daily', { date, customer: filters.customer, status: filters.status, kind: filters.kind, q: filters.q, extras: 'true', limit, offset });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    add(list, errorState(e, () => route()));
    return;
  }
  if (!ctx.alive()) return;
  const rows = res.items.map((it) => ({ it, run: (it.runs || [])[0] || null, unreviewed: (it.runs || []).filter((r) => !r.reviewed).length }));
  const rankD = (s) => DAILY_STATUSES.length - DAILY_STATUSES.indexOf(s);
  const keyFn = {
    customer: (g) => `${(g.it.customer && g.it.customer.name) || ''}\u0000${g.it.job.name || ''}`.toLowerCase(),
    job: (g) => (g.it.job.name || '').toLowerCase(),
    source: (g) => g.it.source || '',
    kind: (g) => g.it.job.kind || '',
    last: (g) => (g.run && g.run.start_at) || '',
    status: (g) => rankD(g.it.status),
    reviewed: (g) => g.unreviewed,
  }[sortKey] || (() => 0);
  rows.sort((a, b) => {
    const x = keyFn(a);
    const y = keyFn(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return (sortDir === 'asc' ? c : -c) || (a.it.job.id - b.it.job.id);
  });
  const onSort = (k) => setParams({ sort: k, dir: k === sortKey ? (sortDir === 'asc' ? 'desc' : 'asc') : (k === 'status' || k === 'last' ? 'desc' : 'asc') }, true);
  const totals = res.totals || {};
  const nAll = DAILY_STATUSES.reduce((a, s) => a + (totals[s] || 0), 0);
  const summary = h('div', { class: 'summary daily-summary' },
    h('span', null, `${fmtDate.format(new Date(from))}: ${plural(nAll, 'job')}`),
    DAILY_STATUSES.filter((s) => totals[s]).map((s) => h('a', {
      class: ['daily-total', `chip`, `chip-${s}`], href: `#/daily${qs({ date, customer: filters.customer, kind: filters.kind, q: filters.q, status: filters.status === s ? '' : s })}`, dataset: { total: s },
    }, h('span', { class: 'chip-icon', 'aria-hidden': 'true' }, STATUS[s].icon), `${fmtNum.format(totals[s])} ${STATUS[s].label.toLowerCase()}`)),
    filters.status ? h('span', null, ` — showing ${STATUS[filters.status].label.toLowerCase()} only`) : null,
    filters.q ? h('span', null, ` — matching “${filters.q}”`) : null);
  if (!res.total) {
    add(list, summary, emptyState(`No job was expected or ran on ${fmtDate.format(new Date(from))}${filters.status || filters.customer || filters.kind || filters.q ? ' with these filters' : ''}.`,
      date === todayYmd() ? 'Schedules are learned from the runs polled so far (see Sources), or pick an earlier day.' : 'Pick another day or clear the filters.'));
    return;
  }
  const cols = [
    { label: 'Customer', sortKey: 'customer' }, { label: 'Source', sortKey: 'source' }, { label: 'Kind', sortKey: 'kind' },
    { label: 'Job', sortKey: 'job' }, { label: 'Expected', cls: 'col-exp' }, { label: 'Run', sortKey: 'last' }, { label: 'Status', sortKey: 'status' },
    { label: 'Last 28 days', cls: 'col-hist' }, { label: 'Reviewed', sortKey: 'reviewed' }, { label: '', cls: 'col-act' },
  ];
  add(list, summary,
    rows.length ? table(cols, rows.map((g) => h('tr', { dataset: { job: g.it.job.id, run: g.run ? g.run.id : '', daily: g.it.status }, class: `daily-${g.it.status}` },
      h('td', null, g.it.customer ? g.it.customer.name : h('span', { class: 'muted' }, '—')),
      h('td', null, g.it.source),
      h('td', null, kindBadge(g.it.job.kind)),
      h('td', null, h('a', { href: `#/jobs/${Number(g.it.job.id)}` }, g.it.job.name),
        g.it.schedule ? h('div', { class: 'muted small' }, g.it.schedule) : null),
      h('td', { class: 'col-exp' }, slotText(g.it)),
      h('td', null, g.run ? frag(g.run.source_type === 'expected' ? h('span', { class: 'muted' }, 'no backup') : timeEl(g.run.start_at),
        g.it.runs.length > 1 ? h('span', { class: 'muted small' }, ` (+${g.it.runs.length - 1} more)`) : null, ' ', anomalyNote(g.run),
        (g.run.objects || []).some((o) => o.status !== 'success') ? h('div', { class: 'small' }, datasourceText(g.run.objects)) : null)
        : h('span', { class: 'muted' }, g.it.status === 'expected' ? 'not yet'
          : (g.it.slots || []).some((x) => x.state === 'ran') ? 'ran (Cove colour bar)' : '—')),
      h('td', null, dailyChip(g.it), g.run ? frag(' ', runRemarkBadge((g.it.runs || []).reduce((a, r) => a + (r.remarks || 0), 0))) : null),
      h('td', { class: 'col-hist' }, histStrip(g.it.history, g.it.history_start)),
      h('td', null, !g.run ? h('span', { class: 'muted' }, '—')
        : g.unreviewed ? h('span', { class: 'rev rev-no' }, h('span', { 'aria-hidden': 'true' }, '○ '), g.it.runs.length > 1 ? `${g.unreviewed} of ${g.it.runs.length} not reviewed` : 'Not reviewed') : reviewedCell(g.run)),
      h('td', { class: 'col-act' }, g.run ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => openRun(g.run.id, { onChange: () => route() }) }, 'Details') : null))),
    { onSort, sort: { key: sortKey, dir: sortDir }, caption: 'Jobs of the day' })
      : emptyState(`No job on this page matches “${filters.q}”.`, 'The text filter looks at the jobs of this page; raise the page size or clear it.'),
    pager({ total: res.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }));
}

/* ---------------------------------------------------------------------------------------------- */
/* Run Checks                                                                                     */

const RC_PAGE = 250;

// One line per run, grouped by customer (worst first) and, inside, by job: a morning's review is
// worked customer by customer. The filters live in the URL (#/runs?customer=…&status=…) and go
// to the server; the keyboard drives the page (j/k, x, r, o/Enter, n/p in the dialog, /, ?).
async function pageRunChecks(ctx) {
  document.title = 'Run Checks — backupctl';
  const p = ctx.params;
  const all = can('admin') && p.get('all') === '1';
  const filters = {
    customer: p.get('customer') || '', source: p.get('source') || '', status: p.get('status') || '',
    kind: p.get('kind') || '', q: p.get('q') || '', from: ymdParam(p.get('from')), to: ymdParam(p.get('to')),
  };
  if (filters.status && !WORST_FIRST.includes(filters.status)) filters.status = '';
  const apiFilters = {
    customer: filters.customer, source: filters.source, status: filters.status, kind: filters.kind, q: filters.q,
    from: filters.from ? new Date(dayRange(filters.from)[0]).toISOString() : undefined,
    to: filters.to ? new Date(dayRange(filters.to)[1]).toISOString() : undefined,
  };
  const filtered = Object.values(filters).some(Boolean);
  const model = { runs: new Map(), order: [], totals: {}, loadedAll: true, offset: 0, selected: new Set(), focusId: null };
  const status = h('p', { class: 'summary rc-summary', role: 'status' });
  const listEl = h('div', { class: 'rc-list' });
  const selAll = h('input', { type: 'checkbox', id: 'rc-select-all', onchange: () => {
    for (const r of model.runs.values()) if (reviewable(r)) (selAll.checked ? model.selected.add(r.id) : model.selected.delete(r.id));
    renderList();
  } });
  const selOkBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'rc-select-successes', onclick: () => {
    for (const r of model.runs.values()) if (reviewable(r) && effStatus(r) === 'success') model.selected.add(r.id);
    renderList();
  } }, 'Select all successes shown');
  const reviewSelBtn = h('button', { type: 'button', class: 'btn btn-primary btn-small', id: 'rc-review-selected', onclick: () => reviewSelected(reviewSelBtn) }, 'Mark selected reviewed');
  const remarkSelBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'rc-remark-selected', onclick: () => {
    const ids = [...model.selected];
    if (!ids.length) return;
    dialog(`Remark on ${plural(ids.length, 'selected run')}`, remarkForm({ ids }, () => { closeDialog(); reload(false); }, closeDialog));
  } }, 'Remark on selected');
  const toolbar = h('div', { class: 'rc-toolbar' },
    can('operator') ? h('label', { class: 'check' }, selAll, ' Select all shown') : null,
    can('operator') ? selOkBtn : null,
    can('operator') ? reviewSelBtn : null,
    can('operator') ? remarkSelBtn : null,
    can('admin') ? h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'rc-include-reviewed', checked: all, onchange: (e) => setParams({ all: e.target.checked ? '1' : '' }) }), ' Include reviewed runs') : null,
    h('span', { class: 'grow' }),
    h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => route() }, 'Refresh'),
    h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'rc-keys', 'aria-keyshortcuts': '?', onclick: () => keysHelp() }, 'Keys ?'));
  const [customers, sources] = await Promise.all([customerOptions(), sourceOptions()]);
  if (!ctx.alive()) return;
  add(ctx.root,
    pageHead('Run Checks', h('span', { class: 'muted small rc-lead' }, 'Review every run until this page is empty — worst first, customer by customer. j/k move, x select, r review, o open, ? all keys.')),
    filterBar(filters, customers, { statuses: WORST_FIRST, text: 'Job, customer or message', kinds: true, sources, dates: true }),
    toolbar, status, listEl);

  const effStatus = (r) => (r.override ? 'success' : r.status);

  async function load() {
    const base = { ...apiFilters, reviewed: all ? undefined : 'false' };
    const [page, ...counts] = await Promise.all([
      get('/runs', { ...base, sort: 'customer', extras: 'true', limit: RC_PAGE, offset: 0 }),
      ...WORST_FIRST.map((s) => (filters.status && filters.status !== s ? { total: 0 } : get('/runs', { ...base, status: s, limit: 1 }))),
    ]);
    model.runs.clear();
    model.selected.clear();
    WORST_FIRST.forEach((s, i) => { model.totals[s] = counts[i].total; });
    for (const r of page.items) model.runs.set(r.id, r);
    model.offset = page.items.length;
    model.loadedAll = page.items.length >= page.total;
    model.pageTotal = page.total;
  }

  async function loadMore(btn) {
    await withBusy(btn, async () => {
      const page = await get('/runs', { ...apiFilters, reviewed: all ? undefined : 'false', sort: 'customer', extras: 'true', limit: RC_PAGE, offset: model.offset });
      for (const r of page.items) model.runs.set(r.id, r);
      model.offset += page.items.length;
      model.loadedAll = !page.items.length || model.offset >= page.total;
      model.pageTotal = page.total;
      renderList();
    });
  }

  // customers → jobs → runs; worst first at each level, names in natural order
  function groups() {
    const byCust = new Map();
    for (const r of model.runs.values()) {
      const ck = r.customer && r.customer.id !== null && r.customer.id !== undefined ? String(r.customer.id) : '';
      let cg = byCust.get(ck);
      if (!cg) byCust.set(ck, cg = { key: ck, customer: r.customer && r.customer.id !== null ? r.customer : null, jobs: new Map(), worst: 0, counts: {} });
      let jg = cg.jobs.get(r.job.id);
      if (!jg) cg.jobs.set(r.job.id, jg = { job: r.job, source: r.source, runs: [], worst: 0 });
      jg.runs.push(r);
      const rk = r.override ? 0.5 : rankOf(r.status); // an override sorts just below real successes' peers
      jg.worst = Math.max(jg.worst, rk);
      cg.worst = Math.max(cg.worst, rk);
      const st = effStatus(r);
      cg.counts[st] = (cg.counts[st] || 0) + 1;
    }
    const cgs = [...byCust.values()];
    for (const cg of cgs) {
      cg.jobList = [...cg.jobs.values()];
      for (const jg of cg.jobList) jg.runs.sort((a, b) => (b.start_at || '').localeCompare(a.start_at || '') || b.id - a.id);
      cg.jobList.sort((a, b) => b.worst - a.worst || naturalCmp(a.job.name || '', b.job.name || '') || a.job.id - b.job.id);
    }
    cgs.sort((a, b) => b.worst - a.worst || naturalCmp((a.customer && a.customer.name) || '\uffff', (b.customer && b.customer.name) || '\uffff') || a.key.localeCompare(b.key));
    return cgs;
  }

  function statusLine() {
    const total = WORST_FIRST.reduce((a, s) => a + (model.totals[s] || 0), 0);
    const parts = WORST_FIRST.filter((s) => model.totals[s]).map((s) => `${fmtNum.format(model.totals[s])} ${STATUS[s].label.toLowerCase()}`);
    clear(status, total
      ? `${plural(total, all ? 'run' : 'unreviewed run')}${filtered ? ' with these filters' : ''}${parts.length ? `: ${parts.join(', ')}` : ''}.`
        + (model.loadedAll ? '' : ` Showing the first ${fmtNum.format(model.runs.size)}.`)
      : '');
    if (!all && !filtered) refreshBadge(total);
    else if (!all) refreshBadge();
    document.title = `${total && !all ? `(${total > 9999 ? '9999+' : total}) ` : ''}Run Checks — backupctl`;
    return total;
  }

  function renderList() {
    const hadFocus = listEl.contains(document.activeElement) || document.activeElement === document.body || model.wantFocus;
    model.wantFocus = false;
    const total = statusLine();
    const cgs = groups();
    model.order = cgs.flatMap((cg) => cg.jobList.flatMap((jg) => jg.runs.map((r) => r.id)));
    const selectable = [...model.runs.values()].filter(reviewable);
    selOkBtn.disabled = !selectable.some((r) => effStatus(r) === 'success');
    if (!total || !cgs.length) {
      selAll.checked = false;
      selAll.disabled = true;
      reviewSelBtn.disabled = true;
      remarkSelBtn.disabled = true;
      clear(listEl, emptyState(all ? 'There are no runs at all yet.' : `All runs are reviewed${filtered ? ' for these filters' : ''}. Nothing left to check.`,
        all ? 'Runs appear after the first poll of a source: check Sources.'
          : filtered ? 'Clear a filter to see the runs of other customers.' : 'New runs show up here after the next poll of each source.',
        h('span', { class: 'empty-icon', 'aria-hidden': 'true' }, '✓')));
      listEl.firstChild.id = 'rc-empty';
      return;
    }
    selAll.disabled = !selectable.length;
    selAll.checked = selectable.length > 0 && selectable.every((r) => model.selected.has(r.id));
    selAll.indeterminate = !selAll.checked && selectable.some((r) => model.selected.has(r.id));
    reviewSelBtn.disabled = model.selected.size === 0;
    remarkSelBtn.disabled = model.selected.size === 0;
    reviewSelBtn.textContent = model.selected.size ? `Mark ${plural(model.selected.size, 'selected run')} reviewed` : 'Mark selected reviewed';
    if (model.focusId === null || !model.runs.has(model.focusId)) model.focusId = model.order.find((id) => reviewable(model.runs.get(id))) ?? model.order[0];
    const more = model.loadedAll ? null : h('div', { class: 'rc-more' }, (() => {
      const b = h('button', { type: 'button', class: 'btn', onclick: () => loadMore(b) },
        `Show ${fmtNum.format(Math.min(RC_PAGE, model.pageTotal - model.offset))} more (${fmtNum.format(model.pageTotal - model.offset)} not shown)`);
      return b;
    })());
    clear(listEl, cgs.map(custNode), more);
    if (hadFocus) focusRow(model.focusId);
  }

  function custNode(cg) {
    const known = cg.customer && customers.find((c) => c.id === cg.customer.id);
    const name = cg.customer ? (known ? known.label : cg.customer.name) : 'No customer'; // tells two of one name apart
    const okRuns = cg.jobList.flatMap((jg) => jg.runs).filter((r) => reviewable(r) && effStatus(r) === 'success');
    const nRuns = cg.jobList.reduce((a, jg) => a + jg.runs.length, 0);
    const okBtn = h('button', {
      type: 'button', class: 'btn btn-small', dataset: { action: 'review-customer-successes' }, disabled: !okRuns.length,
      title: 'Mark every unreviewed success of this customer (with the current filters) reviewed',
      onclick: () => reviewCustomerSuccesses(cg, okRuns, okBtn),
    }, `Review this customer's successes${okRuns.length ? ` (${fmtNum.format(okRuns.length)}${model.loadedAll ? '' : '+'})` : ''}`);
    const worstSt = WORST_FIRST.find((s) => cg.counts[s]) || 'success';
    const id = nextId('rcc');
    return h('section', { class: ['rc-cust', `rc-worst-${worstSt}`], dataset: { customer: cg.key }, 'aria-labelledby': id },
      h('div', { class: 'rc-chead' },
        h('h2', { class: 'rc-ctitle', id }, name),
        h('span', { class: 'rc-ccounts small' }, WORST_FIRST.filter((s) => cg.counts[s]).map((s) => h('span', { class: `rc-count rc-count-${s}`, dataset: { count: s } },
          h('span', { 'aria-hidden': 'true' }, `${STATUS[s].icon} `), `${fmtNum.format(cg.counts[s])} ${STATUS[s].label.toLowerCase()}`))),
        h('span', { class: 'muted small' }, `${plural(cg.jobList.length, 'job')}, ${plural(nRuns, 'run')}`),
        h('span', { class: 'grow' }),
        can('operator') ? okBtn : null),
      h('table', { class: 'grid rc-table' },
        h('caption', { class: 'sr-only' }, `Runs of ${name}`),
        h('colgroup', null, ['sel', 'status', 'job', 'time', 'raw', 'msg', 'hist', 'rem', 'act'].map((c) => h('col', { class: `c-${c}` }))),
        h('thead', { class: 'sr-only' }, h('tr', null, ['Select', 'Status', 'Job', 'Started', 'Vendor status', 'Datasources and message', 'Last 28 days', 'Remarks', 'Actions'].map((x) => h('th', { scope: 'col' }, x)))),
        cg.jobList.map((jg) => jobGroup(cg, jg))));
  }

  function jobGroup(cg, jg) {
    const unrev = jg.runs.filter(reviewable);
    const worstKey = jg.runs.find((r) => !r.override && rankOf(r.status) === jg.worst) || jg.runs[0];
    return h('tbody', { class: 'rc-group', dataset: { job: jg.job.id, worst: worstKey.override ? 'override' : worstKey.status } },
      jg.runs.map((r, i) => runRow(r, jg, i === 0 ? unrev : null)));
  }

  function jobButton(jg, unrev) {
    const b = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { action: 'review-job' }, 'aria-label': `Mark every run of ${jg.job.name} reviewed`, title: 'Mark every unreviewed run of this job reviewed',
      onclick: () => withBusy(b, async () => {
        const res = await post('/runs/review', { job: jg.job.id });
        toast(`${jg.job.name}: ${plural(res.count, 'run')} marked reviewed.`);
        markReviewed(unrev.map((r) => r.id), true);
      }) }, 'Job ✓');
    return b;
  }

  function runRow(r, jg, unrevOfJob) {
    const sel = h('input', {
      type: 'checkbox', 'aria-label': `Select run ${r.id}`, checked: model.selected.has(r.id), tabindex: '-1',
      onchange: (e) => {
        (e.target.checked ? model.selected.add(r.id) : model.selected.delete(r.id));
        model.focusId = r.id;
        model.wantFocus = true;
        renderList();
      },
    });
    const revBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'review-run' }, tabindex: '-1', onclick: () => withBusy(revBtn, () => reviewIds([r.id])) }, 'Mark reviewed');
    const ds = datasourceText(r.objects);
    const msgText = [ds ? ds.textContent : null, r.message].filter(Boolean).join(' — ');
    const tr = h('tr', {
      class: ['rc-run', r.reviewed ? 'is-reviewed' : null], dataset: { run: r.id, status: effStatus(r) },
      tabindex: r.id === model.focusId ? '0' : '-1', 'aria-selected': model.selected.has(r.id) ? 'true' : 'false',
      onfocusin: () => setFocusId(r.id),
    },
    h('td', { class: 'col-sel' }, can('operator') && reviewable(r) ? sel : null),
    h('td', { class: 'col-status' }, runChip(r)),
    h('td', { class: 'col-job rc-gtitle' }, jobLink(r.job, null), ' ', kindBadge(r.job.kind), unrevOfJob && unrevOfJob.length > 1 && can('operator') ? frag(' ', jobButton(jg, unrevOfJob)) : null),
    h('td', { class: 'col-time small' }, timeEl(r.start_at)),
    h('td', { class: 'col-raw small' }, vendorStatus(r.raw_status)),
    h('td', { class: 'col-msg small', title: msgText || null }, r.source_type && r.source_type !== 'api' ? frag(sourceBadge(r.source_type), ' ') : null, ds,
      ds && r.message ? h('span', { class: 'muted' }, ' — ') : null,
      r.message ? h('span', { class: ds ? 'muted' : null }, r.message) : (ds ? null : h('span', { class: 'muted' }, 'no message')),
      r.error_count ? h('span', { class: 'badge badge-err' }, plural(r.error_count, 'error')) : null, ' ', anomalyNote(r)),
    h('td', { class: 'col-hist' }, histStrip(r.history, r.history_start)),
    h('td', { class: 'col-rem' }, runRemarkBadge(r.remarks)),
    h('td', { class: 'col-act' },
      // Details first: a long state never pushes the button out of the cell
      h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { action: 'details' }, tabindex: '-1', onclick: () => openDetails(r.id) }, 'Details'),
      ' ',
      r.reviewed ? reviewedCell(r) : null,
      !r.reviewed && !reviewable(r) ? h('span', { class: 'rev rev-wait', title: 'Running: review when it ends — a run can be reviewed once it has a final status' },
        h('span', { 'aria-hidden': 'true' }, '◷ '), h('span', { class: 'sr-only' }, 'Running: '), 'review when it ends') : null,
      can('operator') && reviewable(r) ? revBtn : null));
    return tr;
  }

  const rowEl = (id) => listEl.querySelector(`tr.rc-run[data-run="${Number(id)}"]`);

  function setFocusId(id) {
    if (model.focusId === id) return;
    const old = rowEl(model.focusId);
    if (old) old.tabIndex = -1;
    model.focusId = id;
    const now = rowEl(id);
    if (now) now.tabIndex = 0;
  }

  function focusRow(id) {
    const tr = rowEl(id);
    if (!tr) return;
    setFocusId(id);
    tr.focus({ preventScroll: true });
    tr.scrollIntoView({ block: 'nearest' });
  }

  function step(delta) {
    if (!model.order.length) return null;
    const i = model.order.indexOf(model.focusId);
    const j = i < 0 ? 0 : Math.max(0, Math.min(model.order.length - 1, i + delta));
    return model.order[j];
  }

  function openDetails(id) {
    setFocusId(id);
    openRun(id, { onChange: onRunChange, afterReview: () => (model.focusId !== null && model.runs.has(model.focusId) ? openDetails(model.focusId) : closeDialog()) });
    if (dialogEl) {
      dialogEl.dataset.rcRun = String(id);
      const tr = rowEl(id);
      if (tr) dialogEl.returnFocus = tr;
    }
  }

  // The next unreviewed run after the ones just reviewed (in page order), else the one before.
  function nextAfter(ids) {
    const gone = new Set(ids);
    const i = model.order.findIndex((id) => gone.has(id));
    if (i < 0) return model.focusId;
    const ok = (id) => !gone.has(id) && model.runs.has(id) && reviewable(model.runs.get(id));
    return model.order.slice(i + 1).find(ok) ?? model.order.slice(0, i).reverse().find(ok) ?? null;
  }

  // Reviewed runs leave the page (or are marked, with "include reviewed"); the counts follow.
  function markReviewed(ids, wholeJob) {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    model.focusId = nextAfter(ids);
    model.wantFocus = !(dialogEl && dialogEl.open);
    for (const id of ids) {
      const r = model.runs.get(id);
      model.selected.delete(id);
      if (!r || r.reviewed) continue;
      const st = effStatus(r);
      if (all) Object.assign(r, { reviewed: true, reviewed_at: now, reviewed_by: state.user });
      else {
        model.runs.delete(id);
        model.totals[st] = Math.max(0, (model.totals[st] || 0) - 1);
        model.offset = Math.max(0, model.offset - 1);
        model.pageTotal = Math.max(0, (model.pageTotal || 0) - 1);
      }
    }
    if (wholeJob || (!all && model.runs.size === 0 && !model.loadedAll)) {
      // A whole-job review may cover runs not loaded here: read the page again.
      reload(false);
      return;
    }
    renderList();
  }

  async function reviewIds(ids) {
    let count = 0;
    let skipped = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const res = await post('/runs/review', { ids: ids.slice(i, i + 1000) });
      count += res.count;
      skipped += res.skipped || 0;
    }
    const one = ids.length === 1 && model.runs.get(ids[0]);
    toast(one ? `Run of ${one.job.name} marked reviewed.` : `${plural(count, 'run')} marked reviewed.${skippedText(skipped)}`);
    markReviewed(ids, false);
  }

  async function reviewSelected(btn) {
    const ids = [...model.selected];
    if (!ids.length) return;
    await withBusy(btn, () => reviewIds(ids));
  }

  // Every unreviewed success of the customer with the current filters, loaded here or not.
  async function reviewCustomerSuccesses(cg, shown, btn) {
    await withBusy(btn, async () => {
      if (!cg.customer || model.loadedAll) {
        await reviewIds(shown.map((r) => r.id));
        return;
      }
      let count = 0;
      for (let guard = 0; guard < 1000; guard++) {
        const res = await get('/runs', { ...apiFilters, customer: cg.customer.id, status: 'success', reviewed: 'false', limit: 1000 });
        const ids = res.items.filter(reviewable).map((r) => r.id);
        if (!ids.length) break;
        count += (await post('/runs/review', { ids })).count;
        if (res.total <= res.items.length) break;
      }
      toast(`${cg.customer.name}: ${plural(count, 'success')} marked reviewed.`);
      model.focusId = nextAfter(shown.map((r) => r.id));
      model.wantFocus = true;
      await reload(false);
    });
  }

  function onRunChange(kind, run) {
    if (kind === 'reviewed') markReviewed([run.id], false);
    else reload(false);
  }

  async function reload(showLoading) {
    if (showLoading) clear(listEl, h('p', { class: 'loading' }, 'Loading runs…'));
    rendering++;
    try {
      await load();
      if (ctx.alive()) renderList();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (ctx.alive()) clear(listEl, errorState(e, () => reload(true)));
    } finally {
      rendering--;
      queueMicrotask(maybeReady);
    }
  }

  // The page's keys; a key typed into a field stays the field's.
  function onKey(e) {
    if (!ctx.alive() || !listEl.isConnected) {
      document.removeEventListener('keydown', onKey);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typingIn(e.target)) return;
    if (dialogEl && dialogEl.open) {
      if ((e.key === 'n' || e.key === 'p') && dialogEl.dataset.rcRun && dialogEl.querySelector('dl.facts')) {
        e.preventDefault();
        const cur = Number(dialogEl.dataset.rcRun);
        let id;
        if (model.order.includes(cur)) {
          model.focusId = cur;
          id = step(e.key === 'n' ? 1 : -1);
        } else {
          id = e.key === 'n' ? model.focusId : step(-1); // the run shown left the page (reviewed)
        }
        if (id !== null && id !== undefined && id !== cur) openDetails(id);
      }
      return;
    }
    const onRow = e.target.closest && e.target.closest('tr.rc-run');
    switch (e.key) {
    case 'j':
    case 'k': {
      e.preventDefault();
      const inList = listEl.contains(document.activeElement);
      focusRow(inList ? step(e.key === 'j' ? 1 : -1) : model.focusId ?? model.order[0]);
      break;
    }
    case 'x': {
      const r = model.runs.get(model.focusId);
      if (!r || !can('operator') || !reviewable(r)) return;
      e.preventDefault();
      (model.selected.has(r.id) ? model.selected.delete(r.id) : model.selected.add(r.id));
      model.wantFocus = true;
      renderList();
      break;
    }
    case 'r': {
      if (!can('operator')) return;
      e.preventDefault();
      if (model.selected.size) {
        reviewSelected(reviewSelBtn);
      } else {
        const r = model.runs.get(model.focusId);
        const tr = rowEl(model.focusId);
        const b = tr && tr.querySelector('button[data-action="review-run"]');
        if (r && b && !b.disabled) withBusy(b, () => reviewIds([r.id]));
      }
      break;
    }
    case 'o':
    case 'Enter':
      if (e.key === 'Enter' && e.target !== onRow) return; // Enter on a button is the button's
      if (model.focusId === null || !model.runs.has(model.focusId)) return;
      e.preventDefault();
      openDetails(model.focusId);
      break;
    case '/': {
      const q = ctx.root.querySelector('form.filters input[name="q"]');
      if (q) {
        e.preventDefault();
        q.focus();
        q.select();
      }
      break;
    }
    case '?':
      e.preventDefault();
      keysHelp();
      break;
    default:
    }
  }
  document.addEventListener('keydown', onKey);

  await reload(true);
}

// Typing in a field (text, a select): the keys are the field's, not the page's.
function typingIn(el) {
  if (!el || !el.closest) return false;
  if (el.isContentEditable) return true;
  const f = el.closest('textarea, select, input');
  return !!f && !(f.tagName === 'INPUT' && ['checkbox', 'radio', 'button', 'submit', 'reset'].includes(f.type));
}

const RC_KEYS = [
  ['j / k', 'Next / previous run'],
  ['x', 'Select or unselect the run'],
  ['r', 'Mark the selected runs reviewed (or the focused run); focus moves to the next unreviewed run'],
  ['o or Enter', 'Open the run details'],
  ['n / p', 'Next / previous run inside the run details'],
  ['/', 'Search'],
  ['?', 'This help'],
  ['Esc', 'Close a dialog'],
];

function keysHelp() {
  dialog('Keyboard shortcuts', h('dl', { class: 'keys-help', id: 'keys-help' },
    RC_KEYS.map(([k, v]) => frag(h('dt', null, h('kbd', null, k)), h('dd', null, v)))));
}

/* ---------------------------------------------------------------------------------------------- */
/* run details dialog (Run Checks, Daily Jobs, Job details)                                       */

let dialogEl = null;

function closeDialog() {
  if (dialogEl && dialogEl.open) dialogEl.close();
}

function dialog(title, body) {
  if (!dialogEl) {
    dialogEl = h('dialog', { class: 'dlg', 'aria-labelledby': 'dlg-title' });
    dialogEl.addEventListener('close', () => {
      // 'close' fires after the fact: a dialog re-opened meanwhile (a page that re-renders and
      // opens the run again) keeps its content
      if (dialogEl.open) return;
      const back = dialogEl.returnFocus;
      dialogEl.replaceChildren();
      if (back && back.isConnected) back.focus();
    });
    dialogEl.addEventListener('click', (e) => { if (e.target === dialogEl) dialogEl.close(); });
    document.body.append(dialogEl);
  }
  dialogEl.returnFocus = dialogEl.open ? dialogEl.returnFocus : document.activeElement;
  clear(dialogEl,
    h('div', { class: 'dlg-head' }, h('h2', { id: 'dlg-title' }, title),
      h('button', { type: 'button', class: 'btn btn-ghost btn-small dlg-close', 'aria-label': 'Close', onclick: () => dialogEl.close() }, '✕ Close')),
    h('div', { class: 'dlg-body' }, body));
  if (!dialogEl.open) dialogEl.showModal();
  return dialogEl;
}

async function openRun(id, opts = {}) {
  const onChange = opts.onChange || (() => {});
  const body = h('div', null, h('p', { class: 'loading' }, 'Loading the run…'));
  const dlg = dialog('Run details', body);
  let run;
  try {
    run = await get(`/runs/${Number(id)}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    clear(body, errorState(e, () => openRun(id, opts)));
    return;
  }
  if (!dlg.open) return;
  const title = dlg.querySelector('#dlg-title');
  clear(title, jobLabel(run.job, run.customer));

  const facts = h('dl', { class: 'facts' },
    fact('Status', frag(runChip(run), run.override && run.original_status ? h('span', { class: 'muted small' }, ` (stored status: ${run.original_status})`) : null)),
    fact('Vendor status', run.raw_status ? h('code', null, run.raw_status) : '—'),
    fact('Message', run.message || h('span', { class: 'muted' }, 'no message')),
    fact('Started', timeEl(run.start_at)),
    fact('Ended', timeEl(run.end_at, { none: run.status === 'running' ? 'still running' : '—' })),
    fact('Duration', frag(duration(run.start_at, run.end_at), run.anomaly ? frag(' ', anomalyNote(run)) : null)),
    fact('Errors', run.error_count === null || run.error_count === undefined ? '—' : fmtNum.format(run.error_count)),
    fact('Source', frag(h('span', null, `${run.source} `), sourceBadge(run.source_type))),
    fact('Job kind', run.job.kind || '—'),
    fact('Vendor run id', run.vendor_run_id ? h('code', null, run.vendor_run_id) : '—'),
    fact('Reviewed', run.reviewed ? frag(`by ${run.reviewed_by || '?'} `, timeEl(run.reviewed_at)) : 'not yet'));
  // A run fed by report e-mails: the mail(s) it came from, as they arrived (Download EML).
  if (run.source_type === 'email') {
    const mails = h('dd', null, h('span', { class: 'muted' }, 'looking…'));
    add(facts, h('dt', null, 'Report e-mail'), mails);
    get('/inbox', { run: run.id, limit: 20 }).then((r) => {
      clear(mails, ...(r.items.length ? r.items.map((m, i) => frag(i ? ', ' : '',
        h('a', { href: `/api/v1/inbox/${Number(m.id)}/raw`, download: `mail-${Number(m.id)}.eml`, dataset: { action: 'download-eml' }, title: m.subject || '' }, r.items.length > 1 ? `Download EML ${i + 1}` : 'Download EML')))
        : [h('span', { class: 'muted' }, 'no stored mail')]));
    }, () => clear(mails, h('span', { class: 'muted' }, 'unavailable')));
  }

  const objs = run.objects || [];
  const objTable = objs.length ? table([{ label: 'Data source / object' }, { label: 'Status' }, { label: 'Vendor status' }, { label: 'Message' }],
    objs.map((o) => h('tr', null, h('td', null, o.name), h('td', null, chip(o.status)), h('td', null, o.raw_status ? h('code', null, o.raw_status) : '—'),
      h('td', null, o.message || h('span', { class: 'muted' }, '—')))), { caption: 'Objects of the run' })
    : h('p', { class: 'muted' }, 'The vendor reported no per-object detail for this run.');

  const remarks = h('div', { class: 'remarks' }, remarkList(run.remarks || [], () => { onChange('remark', run); openRun(run.id, opts); }));
  const actions = h('div', { class: 'dlg-actions' });
  const panel = h('div', { class: 'dlg-panel' });

  if (can('operator')) {
    if (!reviewable(run) && !run.reviewed) add(actions, waitingCell());
    if (reviewable(run)) {
      const b = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'review-run' }, onclick: () => withBusy(b, async () => {
        const r = await post(`/runs/${run.id}/review`);
        toast(`Run of ${run.job.name} marked reviewed.`);
        onChange('reviewed', r);
        if (opts.afterReview) opts.afterReview(r);
        else openRun(run.id, opts);
      }) }, 'Mark reviewed');
      add(actions, b);
    }
    add(actions,
      h('button', { type: 'button', class: 'btn', dataset: { action: 'remark' }, onclick: () => clear(panel, remarkForm(run, () => { onChange('remark', run); openRun(run.id, opts); })) }, 'Add remark'),
      run.override || run.status === 'success' || run.status === 'running' ? null
        : h('button', { type: 'button', class: 'btn', dataset: { action: 'override' }, onclick: () => clear(panel, overrideForm(run, () => { onChange('override', run); openRun(run.id, opts); })) }, 'Treat as success…'));
  }
  clear(body,
    facts,
    h('h3', null, 'Data sources and objects'), objTable,
    h('h3', null, 'Remarks'), remarks,
    actions, panel,
    h('p', { class: 'small' }, h('a', { href: `#/jobs/${Number(run.job.id)}`, onclick: () => closeDialog() }, 'Open the job: history, colour bar, overrides →')));
}

function fact(label, value) {
  return frag(h('dt', null, label), h('dd', null, value));
}

// Remarks, newest first; its author (or an admin) edits or deletes one in place (both audited
// by the API), then onChange() reloads whatever shows the list.
function remarkList(list, onChange) {
  if (!list.length) return h('p', { class: 'muted' }, 'No remark yet.');
  const mine = (m) => can('operator') && (state.role === 'admin' || m.created_by === state.user);
  return h('ul', { class: 'remark-list' }, list.map((m) => {
    const li = h('li', { dataset: { remark: m.id } });
    const show = () => clear(li,
      h('div', { class: 'remark-main' },
        h('span', { class: 'remark-icon', 'aria-hidden': 'true' }, '✎ '),
        h('span', { class: 'remark-body' }, m.body),
        h('span', { class: 'muted small' }, ` — ${m.created_by || '?'}, `, timeEl(m.created_at))),
      onChange && mine(m) ? h('div', { class: 'remark-acts' },
        h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'edit-remark' }, onclick: edit }, 'Edit'),
        h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'delete-remark' }, onclick: askDelete }, 'Delete')) : null);
    function edit() {
      const ta = h('textarea', { rows: '3', maxlength: '10000', required: true, 'aria-label': 'Remark text', value: m.body });
      const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small', dataset: { action: 'save-remark' } }, 'Save');
      clear(li, h('form', {
        class: 'remark-edit', onsubmit: (e) => {
          e.preventDefault();
          if (!ta.value.trim()) return;
          withBusy(save, async () => {
            await put(`/remarks/${Number(m.id)}`, { body: ta.value.trim() });
            toast('Remark changed.');
            onChange();
          });
        },
      }, ta, h('div', { class: 'row' }, save, h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: show }, 'Cancel'))));
      queueMicrotask(() => ta.focus());
    }
    function askDelete() {
      const yes = h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'confirm-delete-remark' }, onclick: () => withBusy(yes, async () => {
        await del(`/remarks/${Number(m.id)}`);
        toast('Remark deleted.');
        onChange();
      }) }, 'Delete it');
      clear(li, h('div', { class: 'remark-main' }, h('span', { class: 'remark-body' }, m.body)),
        h('div', { class: 'remark-acts', role: 'group', 'aria-label': 'Confirm' },
          h('span', { class: 'small' }, 'Delete this remark? '), yes,
          h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: show }, 'Keep')));
      queueMicrotask(() => yes.focus());
    }
    show();
    return li;
  }));
}

// A remark on one run, or on several ({ids: [...]}).
function remarkForm(run, done, onCancel) {
  const ids = run.ids || [run.id];
  const ta = h('textarea', { rows: '3', maxlength: '10000', required: true, placeholder: 'What happened, what was done, ticket number…' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save remark');
  const f = h('form', {
    class: 'panel-form', onsubmit: (e) => {
      e.preventDefault();
      if (!ta.value.trim()) return;
      withBusy(btn, async () => {
        await post('/remarks', { body: ta.value.trim(), runs: ids });
        toast(ids.length > 1 ? `Remark saved on ${plural(ids.length, 'run')}.` : 'Remark saved.');
        done();
      });
    },
  }, h('h3', null, ids.length > 1 ? `Add a remark to ${plural(ids.length, 'run')}` : 'Add a remark to this run'), field('Remark', ta), h('div', { class: 'row' }, btn,
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => (onCancel ? onCancel() : f.remove()) }, 'Cancel')));
  queueMicrotask(() => ta.focus());
  return f;
}

// "Treat as success": scope (this job, one data source of it, every job), match (status, message),
// optional validity window. The API applies it at once to every unreviewed run it matches.
function overrideForm(run, done) {
  const objs = (run.objects || []).filter((o) => o.status !== 'success');
  const scopeName = nextId('scope');
  const scopeJob = h('input', { type: 'radio', name: scopeName, value: 'job', checked: true });
  const scopeObj = h('input', { type: 'radio', name: scopeName, value: 'object', disabled: !run.objects || !run.objects.length });
  const scopeAll = h('input', { type: 'radio', name: scopeName, value: 'all' });
  const objSel = h('select', { 'aria-label': 'Data source' },
    (run.objects || []).map((o) => h('option', { value: o.name, selected: objs.length > 0 && o.name === objs[0].name }, `${o.name} (${(STATUS[o.status] || STATUS.unknown).label})`)));
  const matchable = ['failed', 'warning', 'unknown', 'missed'];
  const stSel = h('select', null,
    h('option', { value: '' }, 'Failed, warning or unknown'),
    matchable.map((s) => h('option', { value: s, selected: s === run.status }, STATUS[s].label)));
  const kindSel = h('select', null,
    h('option', { value: '' }, 'Any message'),
    [['contains', 'contains'], ['equals', 'equals'], ['starts', 'starts with'], ['ends', 'ends with']]
      .map(([v, l]) => h('option', { value: v, selected: v === 'contains' && !!run.message }, `Message ${l}`)));
  const text = h('input', { type: 'text', name: 'match-text', value: proposePattern(run.message || ''), maxlength: '1000' });
  const hint = h('small', { class: 'muted ovr-hint', 'aria-live': 'polite' });
  const syncText = () => {
    text.disabled = !kindSel.value;
    const o = scopeObj.checked ? (run.objects || []).find((x) => x.name === objSel.value) : null;
    const msg = o ? o.message : run.message;
    hint.textContent = !kindSel.value || !text.value.trim() ? '' :
      patternMatches(kindSel.value, text.value.trim(), msg || '') ? '✓ matches this run’s message; * stands for any text (counts, times).' :
        '✕ does not match this run’s message as it stands.';
  };
  kindSel.addEventListener('change', syncText);
  text.addEventListener('input', syncText);
  const fromIn = h('input', { type: 'datetime-local' });
  const untilIn = h('input', { type: 'datetime-local' });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const alsoReview = h('input', { type: 'checkbox', name: 'also-review' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'create-override' } }, 'Create override and apply');
  const pickObj = () => {
    const o = (run.objects || []).find((x) => x.name === objSel.value);
    if (o && scopeObj.checked && o.message) text.value = proposePattern(o.message);
    syncText();
  };
  objSel.addEventListener('change', () => { scopeObj.checked = true; pickObj(); });
  scopeObj.addEventListener('change', pickObj);
  scopeJob.addEventListener('change', () => { text.value = proposePattern(run.message || ''); syncText(); });
  syncText();
  const f = h('form', {
    class: 'panel-form', onsubmit: (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = {};
      if (!scopeAll.checked) body.job = run.job.id;
      if (scopeObj.checked) body.object_name = objSel.value;
      if (stSel.value) body.match_status = stSel.value;
      if (kindSel.value) {
        if (!text.value.trim()) {
          err.textContent = 'Type the message text to match, or choose "Any message".';
          text.focus();
          return;
        }
        body.match_kind = kindSel.value;
        body.match_text = text.value.trim();
      }
      if (fromIn.value) body.valid_from = new Date(fromIn.value).toISOString();
      if (untilIn.value) body.valid_until = new Date(untilIn.value).toISOString();
      if (body.valid_from && body.valid_until && body.valid_from > body.valid_until) {
        err.textContent = '"Valid from" must be before "valid until".';
        return;
      }
      if (!body.job && !body.object_name && !body.match_status && !body.match_text && !(body.valid_from && body.valid_until)) {
        err.textContent = 'A global override needs a condition: a status, a message text, or both dates. Without one it would turn every failed and warning run into a success.';
        return;
      }
      withBusy(btn, async () => {
        const o = await post('/overrides', body);
        toast(`Override #${o.id} created: ${plural(o.runs_updated || 0, 'run')} now ${STATUS.override.label}.`);
        if (alsoReview.checked && !run.reviewed) {
          await post(`/runs/${run.id}/review`);
          toast(`Run of ${run.job.name} marked reviewed.`);
        }
        done(o);
      });
    },
  },
  h('h3', null, 'Treat as success (override)'),
  h('p', { class: 'muted small' }, 'Matching unreviewed runs — this one and future ones — show as “Success (override)”. The vendor status stays visible.'),
  h('fieldset', null, h('legend', null, 'Applies to'),
    h('label', { class: 'check' }, scopeJob, ` This job (${run.job.name})`),
    h('label', { class: 'check' }, scopeObj, ' One data source of this job: '), objSel,
    h('label', { class: 'check' }, scopeAll, ' Every job (global)')),
  h('fieldset', null, h('legend', null, 'When'),
    field('Status is', stSel), field('Message', kindSel), h('div', { class: 'field field-wide' }, field('Text (case-insensitive, * = anything)', text), hint)),
  h('fieldset', null, h('legend', null, 'Valid (optional, your time zone)'),
    field('From', fromIn), field('Until', untilIn)),
  run.reviewed ? null : h('label', { class: 'check' }, alsoReview, ' Also mark this run reviewed'),
  err, h('div', { class: 'row' }, btn, h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => f.remove() }, 'Cancel')));
  queueMicrotask(() => scopeJob.focus());
  return f;
}

// "✎ 2": the run has remarks (a number from the API's extras, or counted from a remark list).
function remarkBadge(n) {
  const k = Number(n) || 0;
  if (!k) return null;
  return h('span', { class: 'remark-ind', dataset: { remarks: k }, title: plural(k, 'remark'), 'aria-label': plural(k, 'remark') }, h('span', { 'aria-hidden': 'true' }, `✎ ${k}`));
}

function overrideSummary(o) {
  const parts = [];
  parts.push(o.match_status ? `status ${STATUS[o.match_status] ? STATUS[o.match_status].label.toLowerCase() : o.match_status}` : 'status failed, warning or unknown');
  if (o.match_kind && o.match_text) parts.push(`message ${o.match_kind === 'starts' ? 'starts with' : o.match_kind === 'ends' ? 'ends with' : o.match_kind} “${o.match_text}”`);
  return parts.join(' and ');
}

/* ---------------------------------------------------------------------------------------------- */
/* Job details                                                                                    */

const BAR_DIGIT = {
  0: 'none', 1: 'running', 2: 'failed', 3: 'failed', 4: 'unknown', 5: 'success', 6: 'failed', 7: 'failed', 8: 'warning', 9: 'running',
};
const DIGIT_NAME = {
  0: 'no backup', 1: 'in process', 2: 'failed', 3: 'aborted', 4: 'unknown (4)', 5: 'completed', 6: 'interrupted',
  7: 'not started', 8: 'completed with errors', 9: 'in progress with faults',
};
const BAR_LABEL = { none: 'No backup', success: 'Completed', warning: 'Warning', failed: 'Failed', running: 'Running', unknown: 'Unknown', missed: 'Missed' };
const BAR_ICON = { none: '', success: '✓', warning: '!', failed: '✕', running: '↻', unknown: '?', missed: '⊘' };

// 28 cells, oldest left, newest right. A vendor bar (Cove D09F08) is drawn from its digits — one
// per day, the last is the newest — a computed one from the days the API derived from stored runs.
function colourBar(bar, missedDays = new Set()) {
  const days = (bar && bar.days) || [];
  const vendor = bar && bar.source === 'vendor' && typeof bar.digits === 'string';
  const cells = [];
  let dates = days.map((d) => d.date);
  if (vendor) {
    const digits = bar.digits.slice(-28).split('');
    // Dates: the API's, aligned on the right; else counted back from as_of.
    const asOf = bar.as_of ? new Date(bar.as_of) : new Date();
    dates = digits.map((_, i) => {
      const fromApi = days.length === digits.length ? days[i].date : null;
      if (fromApi) return fromApi;
      const d = new Date(Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth(), asOf.getUTCDate() - (digits.length - 1 - i)));
      return d.toISOString().slice(0, 10);
    });
    for (let i = 0; i < 28 - digits.length; i++) cells.push({ status: 'nodata', date: null, digit: null });
    // A day Cove shows without a backup that backupctl recorded as Missed is drawn Missed.
    digits.forEach((dg, i) => cells.push({ status: dg === '0' && missedDays.has(dates[i]) ? 'missed' : (BAR_DIGIT[dg] || 'unknown'), date: dates[i], digit: dg }));
  } else {
    for (let i = 0; i < 28 - days.length; i++) cells.push({ status: 'nodata', date: null, digit: null });
    for (const d of days) cells.push({ status: d.status, date: d.date, digit: null });
  }
  const fmtDay = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
  const row = h('ol', { class: 'cbar', 'aria-label': '28-day history, oldest first' },
    cells.map((c) => {
      const label = c.status === 'nodata' ? 'no data'
        : `${c.date ? fmtDay.format(new Date(`${c.date}T00:00:00Z`)) : ''}: ${BAR_LABEL[c.status] || c.status}${c.digit !== null ? ` (Cove ${c.digit}, ${DIGIT_NAME[c.digit] || 'unmapped'})` : ''}`;
      return h('li', {
        class: `cbar-cell cb-${c.status}`, title: label, 'aria-label': label,
        dataset: { status: c.status, date: c.date || '', digit: c.digit === null ? '' : c.digit },
      }, h('span', { 'aria-hidden': 'true' }, BAR_ICON[c.status] || ''));
    }));
  const legend = h('ul', { class: 'cbar-legend', 'aria-label': 'Legend' },
    ['success', 'warning', 'failed', 'missed', 'running', 'unknown', 'none'].map((s) => h('li', null,
      h('span', { class: `cbar-cell cb-${s}`, 'aria-hidden': 'true' }, h('span', null, BAR_ICON[s])), ` ${BAR_LABEL[s]}`)));
  const first = cells.find((c) => c.date);
  const last = cells[cells.length - 1];
  return h('div', { class: 'cbar-wrap' },
    h('div', { class: 'cbar-box' }, row,
      h('div', { class: 'cbar-axis muted small', 'aria-hidden': 'true' },
        h('span', null, first ? first.date : '28 days ago'), h('span', null, last && last.date ? `${last.date} (newest)` : 'newest'))),
    legend,
    h('details', { class: 'cbar-list' }, h('summary', null, 'Day by day'),
      h('ul', null, cells.filter((c) => c.date).reverse().map((c) => h('li', null,
        h('span', { class: `cbar-cell cb-${c.status}`, 'aria-hidden': 'true' }, h('span', null, BAR_ICON[c.status] || '')),
        ` ${fmtDay.format(new Date(`${c.date}T00:00:00Z`))} — ${BAR_LABEL[c.status] || c.status}${c.digit !== null ? ` (Cove ${c.digit})` : ''}`)))),
    h('p', { class: 'muted small' }, vendor
      ? frag('From Cove’s colour bar (D09F08) as of ', timeEl(bar.as_of), '; days are UTC.')
      : 'Computed from the stored runs: the worst run of each UTC day.'));
}

function secondsText(sec) {
  if (sec === null || sec === undefined) return '—';
  if (sec >= 86400 && sec % 3600 === 0) return sec % 86400 === 0 ? plural(sec / 86400, 'day') : `${fmtNum.format(sec / 3600)} h`;
  return interval(sec);
}

const ORIGIN = { learned: 'Learned from its history', policy: 'From the HYCU policy', config: 'Configured in the configuration file', api: 'Configured on this page' };

// The job's expected schedule (where it comes from), its freshness, and the operator's form.
function scheduleView(job) {
  const s = job.schedule;
  const f = job.freshness || {};
  const cfg = s && s.configured;
  const origin = s && s.origin ? [
    ORIGIN[s.origin] || s.origin,
    s.origin === 'learned' && s.evidence !== null ? `, from ${plural(s.evidence, 'day')}` : '',
    s.origin === 'learned' && s.confidence !== null ? `, confidence ${s.confidence} %` : '',
    s.origin === 'config' && s.config_name ? ` ([schedule "${s.config_name}"])` : '',
    s.origin === 'policy' && s.config_name ? ` "${s.config_name}"` : '',
    s.origin === 'policy' && s.policy && s.policy.rpo_seconds ? ` (RPO ${interval(s.policy.rpo_seconds)})` : '',
    s.origin === 'api' && cfg && cfg.created_by ? ` by ${cfg.created_by}` : '',
  ].join('') : null;
  const facts = h('dl', { class: 'facts' },
    fact('Schedule', s && s.description ? h('strong', { id: 'schedule-desc' }, s.description)
      : h('span', { class: 'muted', id: 'schedule-desc' }, cfg ? `configured (${cfg.spec}), not evaluated yet` : 'not known yet: it is learned from the first runs')),
    s && s.origin ? fact('From', h('span', { id: 'schedule-origin', dataset: { origin: s.origin } }, origin)) : null,
    s && s.timezone ? fact('Time zone', s.timezone) : null,
    s && s.grace_seconds !== null && s.grace_seconds !== undefined ? fact('Grace', `${secondsText(s.grace_seconds)} after the window, then Missed`) : null,
    fact('Freshness', f.state === 'ok'
      ? frag(h('span', { class: 'fresh fresh-ok', dataset: { freshness: 'ok' } }, h('span', { 'aria-hidden': 'true' }, '✓ '), 'Recent'), ' last backup ', timeEl(f.last_run_at, { relative: true }))
      : (freshBadge(f.state, f.last_run_at) || '—')),
    f.warn_after_seconds ? fact('Thresholds', `old after ${secondsText(f.warn_after_seconds)}, stale after ${secondsText(f.crit_after_seconds)} without a backup`) : null);
  if (!can('operator')) return facts;

  const spec = h('input', { type: 'text', name: 'spec', value: cfg ? cfg.spec : '', placeholder: '0 22 * * *  or  1d', maxlength: '256', required: true, autocomplete: 'off' });
  const tz = h('input', { type: 'text', name: 'timezone', value: cfg && cfg.timezone ? cfg.timezone : '', placeholder: 'e.g. Europe/Paris (default: the customer’s, else the server’s)', maxlength: '128', autocomplete: 'off' });
  const grace = h('input', { type: 'text', name: 'grace', value: cfg && cfg.grace_seconds !== null && cfg.grace_seconds !== undefined ? `${Math.round(cfg.grace_seconds / 60)}m` : '', placeholder: '2h', maxlength: '32', autocomplete: 'off' });
  const err = h('div', { class: 'form-error', role: 'alert', id: 'schedule-error' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'schedule-save' } }, cfg ? 'Change schedule' : 'Set schedule');
  const clearBtn = cfg ? h('button', { type: 'button', class: 'btn', dataset: { action: 'schedule-clear' }, onclick: () => withBusy(clearBtn, async () => {
    await del(`/jobs/${Number(job.id)}/schedule`);
    toast('Configured schedule removed: back to the configuration or the learned schedule.');
    route();
  }) }, 'Clear (back to learned)') : null;
  const form = h('form', {
    class: 'panel-form schedule-form', onsubmit: (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = { spec: spec.value.trim() };
      if (tz.value.trim()) body.timezone = tz.value.trim();
      if (grace.value.trim()) body.grace = grace.value.trim();
      withBusy(save, async () => {
        try {
          await put(`/jobs/${Number(job.id)}/schedule`, body);
        } catch (x) {
          if (!(x instanceof ApiError)) throw x;
          err.textContent = x.message; // the parser's one-line message
          spec.focus();
          return;
        }
        toast(`Schedule of ${job.name} set.`);
        route();
      });
    },
  },
  field('Cron expression or every', spec, 'cron “min hour day month weekday” (0 22 * * 1-5), @daily, or a duration: 12h, 1d, 1w'),
  field('Time zone', tz), field('Grace', grace, 'how long after the window before a slot is Missed'),
  err, h('div', { class: 'row' }, save, clearBtn));
  return frag(facts, h('details', { class: 'schedule-edit', open: !!cfg }, h('summary', null, cfg ? 'Configured schedule' : 'Configure a schedule…'), form));
}

async function pageJob(ctx) {
  const id = Number(ctx.match[1]);
  const p = ctx.params;
  const limit = clampLimit(p.get('limit'), 50);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  let job;
  try {
    job = await get(`/jobs/${id}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    add(ctx.root, pageHead('Job'), e.status === 404 ? emptyState(`There is no job ${id}.`, 'It may have been retired and purged; find it in Jobs.', h('a', { class: 'btn', href: '#/jobs' }, 'Jobs')) : errorState(e, () => route()));
    return;
  }
  if (!ctx.alive()) return;
  document.title = `${job.name} — backupctl`;
  let runsPage = { items: job.runs || [], total: job.runs_total || 0 };
  if (offset > 0 || limit !== 50) {
    runsPage = await get('/runs', { job: id, limit, offset });
    if (!ctx.alive()) return;
  }
  const unrevN = (job.runs || []).filter(reviewable).length;
  const reviewAll = can('operator') && unrevN ? h('button', { type: 'button', class: 'btn', dataset: { action: 'review-job' }, onclick: () => withBusy(reviewAll, async () => {
    const r = await post('/runs/review', { job: id });
    toast(`${plural(r.count, 'run')} marked reviewed.${skippedText(r.skipped)}`);
    refreshBadge();
    route();
  }) }, 'Mark all runs reviewed') : null;

  const head = h('div', { class: 'job-head card' },
    h('div', { class: 'job-title' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' › ',
        job.customer ? h('a', { href: `#/jobs${qs({ customer: job.customer.id })}` }, job.customer.name) : 'no customer'),
      h('h1', { id: 'page-title', tabindex: '-1' }, job.name),
      h('div', { class: 'job-meta' },
        jobChip(job), freshBadge(job.freshness && job.freshness.state, job.freshness && job.freshness.last_run_at), kindBadge(job.kind),
        h('span', { class: 'badge badge-source', title: `Source ${job.source} (${job.source_kind})` }, `${job.source} · ${job.source_kind}`),
        job.last_run && job.runs && job.runs[0] ? sourceBadge(job.runs[0].source_type) : null,
        job.external_id ? h('span', { class: 'muted small' }, `vendor id ${job.external_id}`) : null,
        job.retired ? h('span', { class: 'badge' }, 'retired ', timeEl(job.retired_at)) : null)),
    h('div', { class: 'page-actions' }, reviewAll));

  const objs = job.objects || [];
  const dsTable = objs.length ? table([{ label: 'Data source' }, { label: 'Status' }, { label: 'Vendor status' }, { label: 'Message' }],
    objs.map((o) => h('tr', null, h('td', null, o.name), h('td', null, chip(o.status)), h('td', null, o.raw_status ? h('code', null, o.raw_status) : '—'), h('td', null, o.message || '—'))), { caption: 'Per data source status' })
    : emptyState('No per-data-source detail for the latest run.', job.source_kind === 'cove' ? null : 'This vendor reports one status per job.');

  const remarksOf = new Map();
  for (const m of job.remarks || []) for (const rid of m.runs || []) remarksOf.set(Number(rid), (remarksOf.get(Number(rid)) || 0) + 1);
  const runRows = runsPage.items.map((r) => h('tr', { dataset: { run: r.id } },
    h('td', null, timeEl(r.start_at)), h('td', null, timeEl(r.end_at, { none: r.status === 'running' ? 'running' : '—' })),
    h('td', null, runChip(r)), h('td', null, r.raw_status ? h('code', null, r.raw_status) : '—'),
    h('td', { class: 'col-msg' }, r.message || h('span', { class: 'muted' }, '—'), ' ', anomalyNote(r), remarkBadge(remarksOf.get(Number(r.id)) || r.remarks)),
    h('td', null, sourceBadge(r.source_type)), h('td', null, reviewedCell(r)),
    h('td', { class: 'col-act' }, h('button', { type: 'button', class: 'btn btn-small', onclick: () => openRun(r.id, { onChange: () => route() }) }, 'Details'))));
  const history = runsPage.total ? frag(
    table([{ label: 'Started' }, { label: 'Ended' }, { label: 'Status' }, { label: 'Vendor status' }, { label: 'Message' }, { label: 'Source type' }, { label: 'Reviewed' }, { label: '', cls: 'col-act' }], runRows, { caption: 'Runs' }),
    pager({ total: runsPage.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }))
    : emptyState('This job has no run yet.', job.source_kind === 'push' ? 'Runs appear when the job calls its ping URL.' : 'Runs appear after the vendor reports one and the next poll stores it.');

  const ovr = job.overrides || [];
  const ovrBody = ovr.length ? table([{ label: 'Applies to' }, { label: 'Treat as success when' }, { label: 'Valid' }, { label: 'Created' }, { label: '', cls: 'col-act' }],
    ovr.map((o) => {
      const b = can('operator') ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => withBusy(b, async () => {
        if (!window.confirm(`Delete override #${o.id}? Runs it already turned into success stay so.`)) return;
        await del(`/overrides/${o.id}`);
        toast(`Override #${o.id} deleted.`);
        route();
      }) }, 'Delete') : null;
      return h('tr', { dataset: { override: o.id } },
        h('td', null, o.job && o.job.id ? (o.object_name ? `data source “${o.object_name}” of this job` : 'this job') : h('strong', null, 'every job (global)'), o.job && o.job.id && o.object_name ? null : (o.object_name ? ` (data source “${o.object_name}”)` : null)),
        h('td', null, overrideSummary(o)),
        h('td', null, o.valid_from || o.valid_until ? frag(o.valid_from ? timeEl(o.valid_from) : 'always', ' → ', o.valid_until ? timeEl(o.valid_until) : 'open') : 'always',
          ' ', h('span', { class: `badge ${o.active ? 'badge-on' : 'badge-off'}` }, o.active ? 'active' : 'inactive')),
        h('td', null, `${o.created_by || '?'}, `, timeEl(o.created_at)),
        h('td', { class: 'col-act' }, b));
    }), { caption: 'Overrides' })
    : h('p', { class: 'muted' }, 'No override applies to this job. Create one from a run’s details (“Treat as success…”).');
  const ovrMore = h('p', { class: 'small' }, h('a', { href: `#/overrides${qs({ job: id })}` }, 'Matches and runs changed on the Overrides page →'));

  const missedDays = new Set((job.runs || []).filter((r) => r.status === 'missed' && r.start_at).map((r) => r.start_at.slice(0, 10)));
  let ping = null;
  if (job.source_kind === 'push' && can('operator')) {
    try {
      ping = section('Report runs (push check-in)', pingSnippets((await get(`/jobs/${id}/ping`)).ping_url));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    if (!ctx.alive()) return;
  }
  add(ctx.root, head,
    h('div', { class: 'grid2' },
      section('Expected schedule', scheduleView(job)),
      section('Last 28 days', colourBar(job.colour_bar, missedDays))),
    ping,
    section('Data sources (latest run)', dsTable),
    section(`Runs (${fmtNum.format(runsPage.total)})`, history),
    h('div', { class: 'grid2' },
      section('Remarks', remarkList(job.remarks || [], () => route())),
      section('Overrides', ovrBody, ovrMore)));
}

/* ---------------------------------------------------------------------------------------------- */
/* Customers                                                                                      */

const NATURAL = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const CUSTOMERS_ALL = 1000;

async function pageCustomers(ctx) {
  document.title = 'Customers — backupctl';
  const p = ctx.params;
  const limit = clampLimit(p.get('limit'), 100);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  const q = p.get('q') || '';
  const text = h('input', { type: 'search', value: q, placeholder: 'Customer name' });
  add(ctx.root, pageHead('Customers'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); setParams({ q: text.value.trim(), offset: 0 }); } },
      field('Search', text), h('div', { class: 'field field-btn' }, h('button', { type: 'submit', class: 'btn' }, 'Search'))));
  let res;
  try {
    // Natural order (Customer 2 before Customer 10): the API sorts as text, so take every
    // customer it lists in one page (up to its maximum), sort here and page here; beyond that
    // many, the server's pages in its order.
    const all = await get('/customers', { q, limit: CUSTOMERS_ALL });
    if (all.total <= all.items.length) {
      all.items.sort((a, b) => NATURAL.compare(a.name || '', b.name || '') || NATURAL.compare(a.source || '', b.source || '') || a.id - b.id);
      res = { total: all.total, items: all.items.slice(offset, offset + limit) };
    } else {
      res = await get('/customers', { q, limit, offset });
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    add(ctx.root, errorState(e, () => route()));
    return;
  }
  if (!ctx.alive()) return;
  if (!res.items.length) {
    add(ctx.root, emptyState(q ? `No customer matches “${q}”.` : 'No customer yet.', q ? 'Try part of the name.' : 'Customers come from the sources: Cove partners, or the customer = setting of a HYCU source. Check Sources.'));
    return;
  }
  add(ctx.root, table([{ label: 'Customer' }, { label: 'Source' }, { label: 'Vendor reference' }, { label: 'Jobs' }],
    res.items.map((c) => h('tr', null,
      h('td', null, h('a', { href: `#/jobs${qs({ customer: c.id })}` }, c.name)),
      h('td', null, c.source),
      h('td', null, c.external_ref || c.external_id || '—'),
      h('td', { class: 'num' }, h('a', { href: `#/jobs${qs({ customer: c.id })}` }, fmtNum.format(c.jobs || 0))))), { caption: 'Customers' }),
  pager({ total: res.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }));
}

/* ---------------------------------------------------------------------------------------------- */
/* Sources                                                                                        */

function sourcesTable(items, opts = {}) {
  if (!items.length) return emptyState('No source is configured.', 'Add a [source "NAME"] section to the configuration file and reload (SIGHUP).');
  const admin = can('admin');
  const rows = items.map((s) => {
    const lp = s.last_poll;
    const up = s.paused ? 'paused' : s.up ? 'up' : 'down';
    const poll = h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'poll' }, onclick: () => withBusy(poll, async () => {
      await post(`/sources/${encodeURIComponent(s.name)}/poll`);
      toast(`Poll of ${s.name} queued; the table refreshes when it is done.`);
      setTimeout(() => opts.onChange && opts.onChange(), 2500);
    }) }, 'Poll now');
    const pause = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { action: s.paused ? 'resume' : 'pause' }, onclick: () => withBusy(pause, async () => {
      await post(`/sources/${encodeURIComponent(s.name)}/${s.paused ? 'resume' : 'pause'}`);
      toast(`${s.name} ${s.paused ? 'resumed' : 'paused'}.`);
      if (opts.onChange) opts.onChange();
    }) }, s.paused ? 'Resume' : 'Pause');
    return h('tr', { dataset: { source: s.name } },
      h('td', null, h('strong', null, s.name), ' ', h('span', { class: 'badge badge-kind' }, s.kind), s.configured ? null : h('span', { class: 'badge badge-off', title: 'In the database but no longer in the configuration' }, 'not configured')),
      h('td', null, h('span', { class: `chip chip-${up === 'up' ? 'success' : up === 'paused' ? 'unknown' : 'failed'}` },
        h('span', { class: 'chip-icon', 'aria-hidden': 'true' }, up === 'up' ? '✓' : up === 'paused' ? '❚❚' : '✕'), up === 'up' ? 'Up' : up === 'paused' ? 'Paused' : 'Down')),
      h('td', null, lp ? timeEl(lp.finished_at || lp.started_at, { relative: true }) : h('span', { class: 'muted' }, 'never polled'),
        lp && lp.result ? h('span', { class: `small ${lp.result === 'ok' ? 'muted' : 'text-bad'}` }, ` (${lp.result})`) : null),
      h('td', null, lp ? duration(lp.started_at, lp.finished_at) : '—'),
      opts.compact ? null : h('td', { class: 'num' }, lp && lp.devices !== null ? fmtNum.format(lp.devices) : '—'),
      opts.compact ? null : h('td', { class: 'num' }, lp ? `${fmtNum.format(lp.runs_new || 0)} / ${fmtNum.format(lp.runs_updated || 0)}` : '—'),
      h('td', null, s.interval_seconds ? `every ${interval(s.interval_seconds)}` : '—'),
      h('td', { class: 'col-msg' }, lp && lp.error ? h('span', { class: 'text-bad' }, lp.error) : h('span', { class: 'muted' }, 'none')),
      admin ? h('td', { class: 'col-act' }, s.configured ? [poll, ' ', pause] : null) : null);
  });
  const cols = [{ label: 'Source' }, { label: 'Health' }, { label: 'Last poll' }, { label: 'Duration' },
    opts.compact ? null : { label: 'Devices' }, opts.compact ? null : { label: 'Runs new / updated' },
    { label: 'Schedule' }, { label: 'Last error' }, admin ? { label: '', cls: 'col-act' } : null].filter(Boolean);
  return table(cols, rows, { caption: 'Sources' });
}

async function pageSources(ctx) {
  document.title = 'Sources — backupctl';
  const list = h('div');
  add(ctx.root, pageHead('Sources', h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => load() }, 'Refresh')),
    h('p', { class: 'lead' }, 'Sources are defined in the configuration file.', can('admin') ? ' You can poll one now, or pause and resume it (a source that failed to log in stays stopped until resumed).' : ''),
    list);
  async function load() {
    rendering++;
    try {
      const res = await get('/sources', { limit: 1000 });
      if (ctx.alive()) clear(list, sourcesTable(res.items, { onChange: load }));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (ctx.alive()) clear(list, errorState(e, () => load()));
    } finally {
      rendering--;
      queueMicrotask(maybeReady);
    }
  }
  await load();
}

/* ---------------------------------------------------------------------------------------------- */
/* Audit log (admin)                                                                              */

async function pageAudit(ctx) {
  document.title = 'Audit log — backupctl';
  const p = ctx.params;
  const limit = clampLimit(p.get('limit'), 100);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  const who = h('input', { type: 'search', value: p.get('who') || '', placeholder: 'user name' });
  const action = h('input', { type: 'search', value: p.get('action') || '', placeholder: 'run.review' });
  add(ctx.root, pageHead('Audit log'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); setParams({ who: who.value.trim(), action: action.value.trim(), offset: 0 }); } },
      field('Who', who), field('Action', action), h('div', { class: 'field field-btn' }, h('button', { type: 'submit', class: 'btn' }, 'Apply'))));
  let res;
  try {
    res = await get('/audit', { who: p.get('who'), action: p.get('action'), limit, offset });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    add(ctx.root, errorState(e, () => route()));
    return;
  }
  if (!ctx.alive()) return;
  if (!res.items.length) {
    add(ctx.root, emptyState('No audit entry matches.', 'Every change (reviews, remarks, overrides, users, polls) is recorded here.'));
    return;
  }
  const js = (v) => (v === null || v === undefined ? h('span', { class: 'muted' }, '—') : h('details', null, h('summary', null, 'show'), h('pre', null, JSON.stringify(v, null, 2))));
  // "job:12" and "run:34" link to what they name.
  const auditTarget = (t) => {
    const m = /^(job|run):(\d{1,18})$/.exec(t || '');
    if (!m) return t || '—';
    if (m[1] === 'job') return h('a', { href: `#/jobs/${m[2]}` }, t);
    return h('button', { type: 'button', class: 'linkish', onclick: () => openRun(Number(m[2])) }, t);
  };
  add(ctx.root, table([{ label: 'When' }, { label: 'Who' }, { label: 'Action' }, { label: 'Target' }, { label: 'Before' }, { label: 'After' }],
    res.items.map((a) => h('tr', null, h('td', null, timeEl(a.at)), h('td', null, a.who || '—'), h('td', null, h('code', null, a.action)),
      h('td', null, auditTarget(a.target)), h('td', null, js(a.before)), h('td', null, js(a.after)))), { caption: 'Audit log' }),
  pager({ total: res.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }));
}

/* ---------------------------------------------------------------------------------------------- */
/* Alerts (issue 10): every message the [alert] sections queued, and how its delivery went        */

const ALERT_STATE = {
  pending: { label: 'Pending', cls: 'chip chip-running' },
  sending: { label: 'Sending', cls: 'chip chip-running' },
  sent: { label: 'Sent', cls: 'chip chip-success' },
  failed: { label: 'Failed', cls: 'chip chip-failed' },
};

async function pageAlerts(ctx) {
  document.title = 'Alerts — backupctl';
  const p = ctx.params;
  const limit = clampLimit(p.get('limit'), 100);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  const state = h('select', null, [['', 'Any'], ['pending', 'Pending'], ['failed', 'Failed'], ['sent', 'Sent']]
    .map(([v, l]) => h('option', { value: v, selected: (p.get('state') || '') === v ? '' : null }, l)));
  add(ctx.root, pageHead('Alerts'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); setParams({ state: state.value, offset: 0 }); } },
      field('Delivery', state), h('div', { class: 'field field-btn' }, h('button', { type: 'submit', class: 'btn' }, 'Apply'))));
  let res;
  try {
    res = await get('/alerts', { state: p.get('state'), limit, offset });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    add(ctx.root, errorState(e, () => route()));
    return;
  }
  if (!ctx.alive()) return;
  if (!res.items.length) {
    add(ctx.root, emptyState('No alert matches.', 'Messages appear here when an [alert] section of the configuration reports a failure, a miss, a source down or a recovery.'));
    return;
  }
  const stateBadge = (a) => {
    const s = ALERT_STATE[a.state] || { label: a.state, cls: 'badge' };
    return h('span', { class: s.cls, 'data-state': a.state }, s.label);
  };
  const retry = (a) => {
    if (!can('operator') || (a.state !== 'failed' && a.state !== 'pending')) return null;
    const b = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'retry-alert', onclick: () => withBusy(b, async () => {
      await post(`/alerts/${a.id}/retry`);
      toast('Queued: it is sent within seconds.');
      route();
    }) }, a.state === 'failed' ? 'Retry now' : 'Send now');
    return b;
  };
  add(ctx.root, table([{ label: 'Queued' }, { label: 'Alert' }, { label: 'Channel' }, { label: 'Message' }, { label: 'Delivery' }, { label: 'Attempts' }, { label: 'Last error' }, { label: '' }],
    res.items.map((a) => h('tr', { 'data-alert': String(a.id) },
      h('td', null, timeEl(a.created_at)),
      h('td', null, a.alert),
      h('td', null, a.channel),
      h('td', null, a.job_id ? h('a', { href: `#/jobs/${a.job_id}` }, a.title) : a.title, h('div', { class: 'small muted' }, h('code', null, a.event))),
      h('td', null, stateBadge(a), a.state === 'sent' && a.sent_at ? h('div', { class: 'small muted' }, timeEl(a.sent_at)) : a.state === 'pending' && a.attempts ? h('div', { class: 'small muted' }, 'next ', timeEl(a.next_at)) : null),
      h('td', { class: 'num' }, String(a.attempts)),
      h('td', null, a.last_error ? h('span', { class: 'small' }, a.last_error) : h('span', { class: 'muted' }, '—')),
      h('td', null, retry(a)))), { caption: 'Alert deliveries, newest first' }),
  pager({ total: res.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }));
}

/* ---------------------------------------------------------------------------------------------- */
/* Overrides                                                                                      */

function overrideScope(o) {
  if (!o.job || !o.job.id) return frag(h('strong', null, 'Every job (global)'), o.object_name ? ` — data source “${o.object_name}”` : null);
  return frag(h('span', { class: 'muted small' }, 'Job '), h('a', { href: `#/jobs/${Number(o.job.id)}` }, o.job.name || `#${o.job.id}`),
    o.object_name ? ` — data source “${o.object_name}”` : null);
}

async function pageOverrides(ctx) {
  document.title = 'Overrides — backupctl';
  const p = ctx.params;
  const limit = clampLimit(p.get('limit'), 100);
  const offset = Math.max(0, Number(p.get('offset')) || 0);
  const jobId = /^\d{1,18}$/.test(p.get('job') || '') ? Number(p.get('job')) : null;
  add(ctx.root, pageHead('Overrides', jobId ? h('a', { class: 'btn', href: '#/overrides' }, 'Show every rule') : null),
    h('p', { class: 'lead' }, jobId ? 'The rules that apply to one job: its own and the global ones.'
      : 'Every rule that turns matching runs into “Success (override)”: global ones and those of one job. Create one from a run’s details (“Treat as success…”).'));
  let res;
  try {
    res = await get('/overrides', { limit, offset, job: jobId });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    add(ctx.root, errorState(e, () => route()));
    return;
  }
  if (!ctx.alive()) return;
  if (!res.items.length) {
    add(ctx.root, emptyState('No override yet.', 'Open a failed run in Run Checks and choose “Treat as success…” to create one.', h('a', { class: 'btn', href: '#/runs' }, 'Run Checks')));
    return;
  }
  const op = can('operator');
  const rows = res.items.map((o) => {
    const acts = h('td', { class: 'col-act' });
    const askDelete = () => {
      const yes = h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'confirm-delete-override' }, onclick: () => withBusy(yes, async () => {
        await del(`/overrides/${Number(o.id)}`);
        toast(`Override #${o.id} deleted; unreviewed runs no other rule matches show their own status again.`);
        route();
      }) }, 'Delete it');
      clear(acts, h('span', { class: 'small' }, 'Delete? '), yes, h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: showActs }, 'Keep'));
      queueMicrotask(() => yes.focus());
    };
    // Stop: it ends now (runs from now on keep their own status; the runs it already matched
    // stay overridden); Resume opens its end again. Delete takes it back from unreviewed runs too.
    const ended = o.valid_until && new Date(o.valid_until) <= new Date();
    const setEnd = (btn, until, what) => withBusy(btn, async () => {
      await put(`/overrides/${Number(o.id)}`, { valid_until: until });
      toast(`Override #${o.id} ${what}.`);
      route();
    });
    function showActs() {
      if (!op) return clear(acts);
      const stop = ended ? null : h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'stop-override' }, title: 'Runs from now on are no longer matched', onclick: () => setEnd(stop, new Date().toISOString(), 'stopped') }, 'Stop');
      const resume = ended ? h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'resume-override' }, title: 'Match the runs to come again', onclick: () => setEnd(resume, null, 'resumed') }, 'Resume') : null;
      return clear(acts, stop, resume, h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'delete-override' }, onclick: askDelete }, 'Delete'));
    }
    showActs();
    return h('tr', { dataset: { override: o.id, matches: o.matches ?? '' } },
      h('td', { class: 'num' }, `#${o.id}`),
      h('td', { class: 'col-scope' }, overrideScope(o)),
      h('td', { class: 'col-msg' }, overrideSummary(o)),
      h('td', null, o.valid_from || o.valid_until ? frag(o.valid_from ? timeEl(o.valid_from) : 'always', ' → ', o.valid_until ? timeEl(o.valid_until) : 'open') : 'always',
        ' ', h('span', { class: `badge ${o.active ? 'badge-on' : 'badge-off'}` }, o.active ? 'active' : 'inactive')),
      h('td', null, `${o.created_by || '?'}, `, timeEl(o.created_at)),
      h('td', { class: 'num col-matches' }, o.matches === null || o.matches === undefined ? '—' : fmtNum.format(o.matches)),
      h('td', { class: 'num col-changed' }, o.runs_changed === null || o.runs_changed === undefined ? '—' : fmtNum.format(o.runs_changed)),
      acts);
  });
  add(ctx.root,
    table([{ label: 'Id', cls: 'num' }, { label: 'Applies to' }, { label: 'Treat as success when' }, { label: 'Valid' }, { label: 'Created' },
      { label: 'Matches', cls: 'num' }, { label: 'Runs it changed', cls: 'num' }, { label: '', cls: 'col-act' }], rows, { caption: 'Overrides', cls: 'ovr-table', stack: true }),
    h('p', { class: 'muted small' }, '“Matches”: runs its condition matches now (reviewed or not). “Runs it changed”: runs it turned into a success when it was created.'),
    pager({ total: res.total, limit, offset, onPage: (o, l) => setParams({ offset: o, limit: l }) }));
}

/* ---------------------------------------------------------------------------------------------- */
/* Users (admin)                                                                                  */

async function pageUsers(ctx) {
  document.title = 'Users — backupctl';
  const list = h('div', { id: 'users-list' });
  const tokens = h('div', { id: 'tokens-list' });
  const name = h('input', { required: true, maxlength: '64', autocomplete: 'off' });
  const role = h('select', null, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r }, r)));
  const pass = h('input', { type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add user');
  const form = h('form', {
    class: 'filters', onsubmit: (e) => {
      e.preventDefault();
      withBusy(btn, async () => {
        await post('/users', { name: name.value.trim(), role: role.value, password: pass.value });
        toast(`User ${name.value.trim()} added (${role.value}).`);
        form.reset();
        await load();
      });
    },
  }, field('Name', name), field('Role', role, 'viewer: read only · operator: review, remarks, overrides · admin: everything'), field('Password', pass, 'at least 8 characters'),
  h('div', { class: 'field field-btn' }, btn));
  add(ctx.root, pageHead('Users'), section('Add a user', form), list, section('API tokens', tokens));
  let users = [];
  async function load() {
    const res = await get('/users', { limit: 1000 });
    if (!ctx.alive()) return;
    users = res.items;
    clear(list, table([{ label: 'Name' }, { label: 'Role' }, { label: 'Created' }, { label: '', cls: 'col-act' }],
      res.items.map((u) => {
        const me = u.name === state.user;
        const b = me ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => withBusy(b, async () => {
          if (!window.confirm(`Delete user ${u.name}? Their sessions and tokens stop working.`)) return;
          await del(`/users/${encodeURIComponent(u.name)}`);
          toast(`User ${u.name} deleted.`);
          await load();
        }) }, 'Delete');
        const roleSel = h('select', {
          'aria-label': `Role of ${u.name}`, name: 'role', disabled: me, title: me ? 'You cannot change your own role' : null,
          onchange: () => withBusy(roleSel, async () => {
            const want = roleSel.value;
            try {
              const r = await put(`/users/${encodeURIComponent(u.name)}`, { role: want });
              toast(`${u.name} is now ${r.role}.`);
              await load();
            } catch (e) {
              roleSel.value = u.role;
              throw e;
            }
          }),
        }, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r, selected: r === u.role }, r)));
        const reset = h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'reset-password' }, onclick: () => passwordDialog(u.name) }, 'Reset password');
        return h('tr', { dataset: { user: u.name } }, h('td', null, u.name, me ? h('span', { class: 'muted small' }, ' (you)') : null),
          h('td', null, h('span', { class: `badge badge-role role-${u.role}` }, u.role), ' ', roleSel), h('td', null, timeEl(u.created_at)),
          h('td', { class: 'col-act' }, reset, b));
      }), { caption: 'Users', stack: true }));
    await loadTokens();
  }
  async function loadTokens() {
    const res = await get('/tokens', { limit: 1000 });
    if (!ctx.alive()) return;
    const who = h('select', { name: 'token-user', 'aria-label': 'For user' }, users.map((u) => h('option', { value: u.name, selected: u.name === state.user }, u.name)));
    const label = h('input', { name: 'token-name', maxlength: '64', placeholder: 'e.g. monitoring', autocomplete: 'off' });
    const mk = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'create-token' } }, 'Create token');
    const shown = h('div', { class: 'token-once', 'aria-live': 'polite' });
    const createForm = h('form', {
      class: 'filters', onsubmit: (e) => {
        e.preventDefault();
        withBusy(mk, async () => {
          const t = await post('/tokens', { user: who.value, name: label.value.trim() || undefined });
          await loadTokens();
          const box = document.querySelector('#tokens-list .token-once');
          if (box) {
            clear(box, h('p', null, h('strong', null, `Token #${t.id} for ${t.user}`), ' — copy it now, it is never shown again:'),
              h('code', { class: 'token-value', tabindex: '0' }, t.token));
          }
          toast(`Token #${t.id} created for ${t.user}.`);
        });
      },
    }, field('User', who), field('Label', label), h('div', { class: 'field field-btn' }, mk));
    const rows = res.items.map((t) => {
      const rv = t.revoked ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'revoke-token' }, onclick: () => withBusy(rv, async () => {
        await del(`/tokens/${Number(t.id)}`);
        toast(`Token #${t.id} revoked.`);
        await loadTokens();
      }) }, 'Revoke');
      return h('tr', { dataset: { token: t.id, revoked: t.revoked ? 'true' : 'false' } },
        h('td', { class: 'num' }, `#${t.id}`), h('td', null, t.user), h('td', null, t.name || h('span', { class: 'muted' }, '—')),
        h('td', null, timeEl(t.created_at)), h('td', null, timeEl(t.last_used_at, { none: 'never' })),
        h('td', null, t.revoked ? frag(h('span', { class: 'badge badge-off' }, 'revoked'), ' ', timeEl(t.revoked_at)) : h('span', { class: 'badge badge-on' }, 'active')),
        h('td', { class: 'col-act' }, rv));
    });
    clear(tokens, createForm, shown,
      rows.length ? table([{ label: 'Id', cls: 'num' }, { label: 'User' }, { label: 'Label' }, { label: 'Created' }, { label: 'Last used' }, { label: 'State' }, { label: '', cls: 'col-act' }], rows, { caption: 'API tokens', stack: true })
        : h('p', { class: 'muted' }, 'No API token yet. A token authenticates scripts (Authorization: Bearer …) as its user.'));
  }
  function passwordDialog(user) {
    const p1 = h('input', { type: 'password', name: 'new-password', required: true, minlength: '8', autocomplete: 'new-password' });
    const p2 = h('input', { type: 'password', name: 'confirm-password', required: true, minlength: '8', autocomplete: 'new-password' });
    const err = h('div', { class: 'form-error', role: 'alert' });
    const ok = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'set-password' } }, 'Set password');
    const f = h('form', {
      class: 'panel-form', onsubmit: (e) => {
        e.preventDefault();
        err.textContent = '';
        if (p1.value.length < 8) { err.textContent = 'At least 8 characters.'; p1.focus(); return; }
        if (p1.value !== p2.value) { err.textContent = 'The two passwords differ. Type the same one twice.'; p2.select(); return; }
        withBusy(ok, async () => {
          await put(`/users/${encodeURIComponent(user)}`, { password: p1.value });
          closeDialog();
          toast(`Password of ${user} changed.`);
        });
      },
    }, h('p', { class: 'muted small' }, `${user} logs in with the new password from now on.`),
    field('New password', p1, 'at least 8 characters'), field('Confirm', p2), err,
    h('div', { class: 'row' }, ok, h('button', { type: 'button', class: 'btn btn-ghost', onclick: closeDialog }, 'Cancel')));
    dialog(`Reset the password of ${user}`, f);
    queueMicrotask(() => p1.focus());
  }
  await load();
}

/* ---------------------------------------------------------------------------------------------- */
/* start                                                                                          */

async function boot() {
  shell();
  rendering++;
  setBusy();
  try {
    // The probe answers 200 logged in or not: no expected 401 in the console on every visit.
    const s = await api('GET', '/session/probe');
    if (s && s.authenticated) {
      state.user = s.user;
      state.role = s.role;
      state.csrf = s.csrf_token || null;
      refreshBadge();
    }
  } catch (e) {
    clear(mainEl, errorState(e, () => location.reload()));
    return;
  } finally {
    rendering--;
  }
  window.addEventListener('hashchange', route);
  // The unreviewed count in the menu follows new polls while the page stays open.
  setInterval(() => { if (state.user && !document.hidden) refreshBadge(); }, 60000);
  await route();
}

boot();

// Report e-mails no parser recognised (issue 14): the raw mail to download, and (operator)
// "assign to a job", which also makes the next mail of that sender and subject shape a run.
async function pageInbox(ctx) {
  const [mails, jobs] = await Promise.all([get('/inbox', { limit: 200 }), can('operator') ? get('/jobs', { limit: 1000, sort: 'name' }) : null]);
  if (!ctx.alive()) return;
  document.title = 'Inbox — backupctl';
  add(ctx.root, pageHead('Inbox'));
  if (!mails.items.length) {
    add(ctx.root, emptyState('The Inbox is empty.', 'Report e-mails that no parser recognises wait here for an operator.'));
    return;
  }
  const rows = mails.items.map((m) => {
    let act = null;
    if (jobs) {
      const sel = h('select', { 'aria-label': `Job for mail ${m.id}` }, h('option', { value: '' }, 'Assign to job…'),
        jobs.items.map((j) => h('option', { value: String(j.id) }, j.customer ? `${j.customer.name} › ${j.name}` : j.name)));
      const btn = h('button', { type: 'button', class: 'btn btn-small', onclick: async () => {
        if (!sel.value) return;
        btn.disabled = true;
        try {
          await post(`/inbox/${m.id}/assign`, { job: Number(sel.value) });
          toast('Assigned: the next mail like it becomes a run of that job by itself.');
          route();
        } catch (e) {
          btn.disabled = false;
          toast(e.message, 'error');
        }
      } }, 'Assign');
      act = h('span', null, sel, ' ', btn);
    }
    return h('tr', { dataset: { mail: m.id } },
      h('td', null, timeEl(m.date || m.received_at)),
      h('td', null, m.from || '—'),
      h('td', null, m.subject || '(no subject)', m.reason ? h('div', { class: 'muted small' }, m.reason) : null),
      h('td', null, m.status_hint),
      h('td', null, h('a', { href: `/api/v1/inbox/${m.id}/raw`, download: `mail-${m.id}.eml` }, 'EML')),
      h('td', null, act));
  });
  add(ctx.root, h('p', { class: 'muted' }, `${mails.total} mail(s) waiting.`),
    h('table', { class: 'table' }, h('thead', null, h('tr', null, ['Date', 'From', 'Subject', 'Keywords', 'Raw', ''].map((t) => h('th', null, t)))), h('tbody', null, rows)));
}
