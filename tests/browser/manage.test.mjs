// Issue 13, the managing side of the web UI in a real browser (Debian's chromium) against a real
// `backupctl serve` polling cove-sim and hycu-sim: remarks edited and deleted (audited) with
// their indicator on the job's runs; an override created from the run's form, whose proposed
// pattern leaves out the error count, so it matches the job's next failed run with another
// count; the Overrides page with its matches; the Users page (role, password reset, API tokens);
// no horizontal scroll at 390 px on any page; no console error at all on a normal visit (the
// login page included: the session probe answers 200, never an expected 401).
// Each test saves screenshots under $BROWSER_OUT (default build/browser).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, USERS, goto, launchBrowser, login, newPage, ready, screenshot, startEnv } from './env.mjs';

let env;
let browser;
const pages = [];

async function page(opts) {
  const p = await newPage(browser, opts);
  // Stricter than newPage: every console error counts here, a refused request's too.
  p.consoleErrors = [];
  p.on('console', (m) => { if (m.type() === 'error') p.consoleErrors.push(m.text()); });
  pages.push(p);
  return p;
}

function noProblems(p) {
  assert.deepEqual(p.problems, [], 'no page error, console error or CSP violation');
  assert.deepEqual(p.dialogs, [], 'no JavaScript dialog opened');
  assert.deepEqual(p.consoleErrors, [], 'no console error at all');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Ask the daemon to poll a source now and wait until that poll has finished.
async function pollNow(name) {
  const last = async () => ((await env.admin.get('/sources')).items.find((x) => x.name === name).last_poll || {});
  const prev = await last();
  await env.admin.post(`/sources/${name}/poll`);
  for (let i = 0; i < 400; i++) {
    const now = await last();
    if (now.finished_at && (now.started_at !== prev.started_at || now.finished_at !== prev.finished_at)) return;
    await sleep(50);
  }
  throw new Error(`no poll of ${name} finished`);
}

async function simAdvance(body) {
  const res = await fetch(`${env.coveUrl}/__sim/advance`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.text());
}

async function simDevices() {
  const res = await fetch(`${env.coveUrl}/__sim/devices`);
  assert.equal(res.status, 200);
  return (await res.json()).devices;
}

// Make a Cove device's next session end Failed with `errors` errors, poll, and return its run.
async function failWith(dev, jobId, errors, seconds) {
  const before = new Set((await env.admin.get(`/runs?job=${jobId}&limit=1000`)).items.map((r) => r.id));
  await simAdvance({ seconds, account_id: dev.AccountId, status: 2, errors });
  await pollNow('cove-msp');
  const fresh = (await env.admin.get(`/runs?job=${jobId}&limit=1000`)).items.filter((r) => !before.has(r.id));
  assert.equal(fresh.length, 1, `one new run of ${dev.I1}: ${JSON.stringify(fresh)}`);
  assert.match(fresh[0].message, new RegExp(`\\(${errors} errors\\)`), 'its message has the error count');
  return fresh[0];
}

async function tokenStatus(token) {
  return (await fetch(`${env.url}/api/v1/session`, { headers: { Authorization: `Bearer ${token}` } })).status;
}

async function apiLoginStatus(name, password) {
  const res = await fetch(`${env.url}/api/v1/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: name, password }),
  });
  return res.status;
}

describe('web UI: remarks, overrides, users, mobile (issue 13)', { timeout: 300000 }, () => {
  let dev;
  let job;
  let overrideId;

  before(async () => {
    [env, browser] = await Promise.all([startEnv({ coveDevices: 30, coveCustomers: 3 }), launchBrowser()]);
    // A Cove device whose last session completed: its failures below are the test's own.
    dev = (await simDevices()).find((d) => String(d.D09F00) === '5' && !/[<>]/.test(d.I1));
    assert.ok(dev, 'a completed Cove device');
    job = (await env.admin.get(`/jobs?source=cove-msp&q=${encodeURIComponent(dev.I1)}&limit=100`)).items.find((j) => j.name === dev.I1);
    assert.ok(job, `the job of ${dev.I1}`);
  });

  after(async () => {
    for (const p of pages) await p.context().close().catch(() => {});
    if (browser) await browser.close();
    if (env) await env.stop();
  });

  test('no console error on a normal visit: the login page, logging in, the main pages', async () => {
    const p = await page();
    const requests = [];
    p.on('response', (r) => { if (r.url().includes('/api/')) requests.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });
    await p.goto(`${env.url}/`);
    await ready(p);
    assert.match(p.url(), /#\/login/);
    await p.waitForSelector('form.login');
    assert.ok(requests.includes('200 GET /api/v1/session/probe'), `the session probe: ${requests.join(', ')}`);
    assert.deepEqual(requests.filter((r) => r.startsWith('401')), [], 'no 401 before logging in');
    await p.fill('input[name="username"]', USERS.operator.name);
    await p.fill('input[name="password"]', USERS.operator.password);
    await p.click('form.login button[type="submit"]');
    await p.waitForSelector('#userbox .who-name');
    await ready(p);
    for (const hash of ['#/', '#/runs', '#/daily', '#/jobs', `#/jobs/${job.id}`, '#/customers', '#/sources', '#/alerts', '#/overrides']) {
      await goto(p, env, hash);
      assert.equal(await p.locator('.error-state').count(), 0, `${hash} loads`);
    }
    // a reload keeps the session through the probe
    await p.reload();
    await ready(p);
    assert.equal(await p.textContent('#userbox .who-name'), USERS.operator.name);
    assert.deepEqual(requests.filter((r) => /^[45]/.test(r)), [], 'no refused request');
    noProblems(p);
  });

  test('the override pattern proposal leaves out counts, times, dates and sizes (pure function)', async () => {
    const p = await page();
    await p.goto(`${env.url}/`);
    await ready(p);
    const got = await p.evaluate(async () => {
      const m = await import('/pattern.js');
      const cases = ['Failed (5 errors) at 02:13', 'Completed with errors (12 errors)', 'Backup 2026-12-03T02:13:00Z wrote 1.5 GB in 300 s',
        'Snapshot of disk scsi0:1 failed', 'No errors', 'Job 3f2a9c1e-1111-2222-3333-444455556666 failed on 03.12.2026'];
      return {
        proposals: cases.map((c) => m.proposePattern(c)),
        matches: [m.patternMatches('contains', 'Failed (* errors) at *', 'Failed (7 errors) at 23:01'),
          m.patternMatches('equals', 'Failed (* errors)', 'Failed (7 errors)'),
          m.patternMatches('equals', 'Failed (* errors)', 'Warning (7 errors)'),
          m.patternMatches('starts', 'failed', 'Failed (1 error)')],
      };
    });
    assert.deepEqual(got.proposals, ['Failed (* errors) at *', 'Completed with errors (* errors)', 'Backup * wrote * in *',
      'Snapshot of disk scsi* failed', 'No errors', 'Job * failed on *']);
    assert.deepEqual(got.matches, [true, true, false, true]);
    noProblems(p);
  });

  test('remarks: added in the run dialog, shown by an indicator on the run, edited and deleted (audited)', async () => {
    const run = (await env.admin.get(`/runs?job=${job.id}&limit=1`)).items[0];
    assert.ok(run, 'a run of the job');
    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, `#/jobs/${job.id}`);
    assert.equal(await p.locator(`tr[data-run="${run.id}"] .remark-ind`).count(), 0, 'no indicator without a remark');
    await p.click(`tr[data-run="${run.id}"] td.col-act button`);
    await p.waitForSelector('dialog[open] .facts');
    await ready(p);
    await p.click('dialog[open] button[data-action="remark"]');
    await p.fill('dialog[open] .panel-form textarea', 'NAS offline — ticket 100');
    await p.click('dialog[open] .panel-form button[type="submit"]');
    const li = p.locator('dialog[open] .remark-list li', { hasText: 'ticket 100' });
    await li.waitFor();
    await ready(p);
    const remarkId = Number(await li.getAttribute('data-remark'));
    assert.ok(remarkId > 0);

    // Edit in the dialog: the list shows the new text, the API has it, the audit log says so.
    await li.locator('button[data-action="edit-remark"]').click();
    await p.fill(`dialog[open] li[data-remark="${remarkId}"] textarea`, 'NAS offline — ticket 101 (replaced disk)');
    await p.click(`dialog[open] li[data-remark="${remarkId}"] button[data-action="save-remark"]`);
    await p.waitForSelector(`dialog[open] li[data-remark="${remarkId}"] .remark-body:has-text("ticket 101")`);
    await ready(p);
    assert.equal(await p.locator('dialog[open] .remark-list li').count(), 1, 'still one remark');
    await screenshot(p, 'remark-edited', { fullPage: false });
    assert.equal((await env.admin.get(`/runs/${run.id}`)).remarks.find((m) => m.id === remarkId).body, 'NAS offline — ticket 101 (replaced disk)');
    const upd = (await env.admin.get(`/audit?action=remark.update&limit=10`)).items;
    assert.ok(upd.some((a) => a.target === `remark:${remarkId}` && a.who === USERS.operator.name), `remark.update audited: ${JSON.stringify(upd)}`);
    await p.keyboard.press('Escape');
    await ready(p);

    // The run's row on the job page shows the indicator; the job's remark list has the text.
    await goto(p, env, `#/jobs/${job.id}`);
    const ind = p.locator(`tr[data-run="${run.id}"] .remark-ind`);
    assert.equal(await ind.getAttribute('data-remarks'), '1');
    assert.match(await ind.getAttribute('title'), /1 remark/);
    assert.match(await p.textContent('.remark-list'), /ticket 101/);

    // A viewer sees it, and no edit or delete.
    const v = await page();
    await login(v, env, USERS.viewer);
    await goto(v, env, `#/jobs/${job.id}`);
    assert.match(await v.textContent('.remark-list'), /ticket 101/);
    assert.equal(await v.locator('button[data-action="edit-remark"], button[data-action="delete-remark"]').count(), 0);
    noProblems(v);

    // Delete from the job page: asked in place (no browser dialog), then gone everywhere.
    const jl = p.locator(`.remark-list li[data-remark="${remarkId}"]`);
    await jl.locator('button[data-action="delete-remark"]').click();
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await jl.locator('button[data-action="confirm-delete-remark"]').click();
    await ready(p);
    await p.waitForSelector(`li[data-remark="${remarkId}"]`, { state: 'detached' });
    assert.equal(await p.locator(`tr[data-run="${run.id}"] .remark-ind`).count(), 0, 'no indicator once deleted');
    assert.equal((await env.admin.get(`/runs/${run.id}`)).remarks.length, 0);
    const dels = (await env.admin.get(`/audit?action=remark.delete&limit=10`)).items;
    assert.ok(dels.some((a) => a.target === `remark:${remarkId}`), 'remark.delete audited');
    noProblems(p);
  });

  test('an override created from the form matches the next failed run with a different error count', async () => {
    const first = await failWith(dev, job.id, 3, 600);
    assert.equal(first.status, 'failed');
    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, `#/jobs/${job.id}`);
    await p.click(`tr[data-run="${first.id}"] td.col-act button`);
    await p.waitForSelector('dialog[open] .facts');
    await ready(p);
    await p.click('dialog[open] button[data-action="override"]');
    // The proposal: the message without its count (and the form says it matches this run).
    const text = p.locator('dialog[open] .panel-form input[name="match-text"]');
    const proposed = await text.inputValue();
    assert.equal(proposed, first.message.replace(/\d+/g, '*'), `proposal for "${first.message}"`);
    assert.doesNotMatch(proposed, /\d/, 'no digit left in the proposed pattern');
    assert.match(await p.textContent('dialog[open] .ovr-hint'), /matches this run/);
    await screenshot(p, 'override-form', { fullPage: false });
    await p.click('dialog[open] button[data-action="create-override"]');
    await p.waitForSelector('dialog[open] .facts .chip[data-status="override"]');
    await ready(p);
    await p.keyboard.press('Escape');
    const rules = (await env.admin.get(`/overrides?job=${job.id}&limit=1000`)).items.filter((o) => o.job && o.job.id === job.id);
    assert.equal(rules.length, 1, 'one rule for the job');
    overrideId = rules[0].id;
    assert.equal(rules[0].match_text, proposed);
    assert.equal(rules[0].match_status, 'failed');

    // The next session fails with another count: the new run comes in overridden.
    const next = await failWith(dev, job.id, 7, 3600);
    assert.notEqual(next.message, first.message, 'another message');
    assert.equal(next.status, 'success', `the new run is overridden: ${JSON.stringify(next)}`);
    assert.equal(next.override, true);
    assert.equal(next.original_status, 'failed');
    await goto(p, env, `#/jobs/${job.id}`);
    assert.equal(await p.locator(`tr[data-run="${next.id}"] .chip`).getAttribute('data-status'), 'override');
    await screenshot(p, 'override-next-run');
    noProblems(p);
  });

  test('the Overrides page lists every rule with its scope, matches and the runs it changed; an operator deletes one', async () => {
    assert.ok(overrideId, 'the override of the previous test');
    const oper = await new ApiClient(env.url).login(USERS.operator);
    const global = await oper.post('/overrides', { match_status: 'warning', match_kind: 'contains', match_text: 'no-such-warning-*' });
    const api = (await env.admin.get('/overrides?limit=1000')).items;
    const mine = api.find((o) => o.id === overrideId);
    assert.ok(mine.matches >= 2, `matches so far: ${mine.matches}`);

    const v = await page();
    await login(v, env, USERS.viewer);
    await goto(v, env, '#/overrides');
    assert.equal(await v.locator('tr[data-override]').count(), api.length, 'every rule');
    assert.equal(await v.locator('button[data-action="delete-override"]').count(), 0, 'no delete for a viewer');
    noProblems(v);

    const p = await page();
    await login(p, env, USERS.operator);
    assert.equal(await p.locator('nav.topnav a[href="#/overrides"]').textContent(), 'Overrides');
    await p.click('nav.topnav a[href="#/overrides"]');
    await ready(p);
    await p.waitForSelector('tr[data-override]');
    const row = p.locator(`tr[data-override="${overrideId}"]`);
    assert.match(await row.locator('.col-scope').textContent(), new RegExp(`Job ${dev.I1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(await row.textContent(), /oper/, 'who created it');
    assert.match(await row.textContent(), new RegExp(mine.match_text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const shownMatches = Number((await row.locator('.col-matches').textContent()).replace(/\D/g, ''));
    assert.ok(shownMatches >= 1 && shownMatches === mine.matches, `matches shown ${shownMatches}, API ${mine.matches}`);
    assert.equal((await row.locator('.col-changed').textContent()).trim(), String(mine.runs_changed));
    const grow = p.locator(`tr[data-override="${global.id}"]`);
    assert.match(await grow.locator('.col-scope').textContent(), /Every job \(global\)/);
    assert.equal((await grow.locator('.col-matches').textContent()).trim(), '0');
    await screenshot(p, 'overrides');

    // Stop (it ends now, audited), then resume.
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await grow.locator('button[data-action="stop-override"]').click();
    await ready(p);
    await p.waitForSelector(`tr[data-override="${global.id}"] button[data-action="resume-override"]`);
    assert.match(await grow.textContent(), /inactive/);
    const stopped = (await env.admin.get('/overrides?limit=1000')).items.find((o) => o.id === global.id);
    assert.ok(stopped.valid_until && !stopped.active, `stopped: ${JSON.stringify(stopped)}`);
    assert.ok((await env.admin.get('/audit?action=override.update&limit=10')).items.some((a) => a.target === `override:${global.id}`), 'override.update audited');
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await grow.locator('button[data-action="resume-override"]').click();
    await ready(p);
    await p.waitForSelector(`tr[data-override="${global.id}"] button[data-action="stop-override"]`);
    const resumed = (await env.admin.get('/overrides?limit=1000')).items.find((o) => o.id === global.id);
    assert.ok(resumed.valid_until === null && resumed.active, `resumed: ${JSON.stringify(resumed)}`);

    await grow.locator('button[data-action="delete-override"]').click();
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await grow.locator('button[data-action="confirm-delete-override"]').click();
    await ready(p);
    await p.waitForSelector(`tr[data-override="${global.id}"]`, { state: 'detached' });
    assert.ok(!(await env.admin.get('/overrides?limit=1000')).items.some((o) => o.id === global.id), 'deleted');
    assert.equal(await p.locator(`tr[data-override="${overrideId}"]`).count(), 1, 'the other rule stays');
    // From the job page: the rules of that job (its own and the global ones).
    await goto(p, env, `#/jobs/${job.id}`);
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await p.click(`a[href="#/overrides?job=${job.id}"]`);
    await ready(p);
    assert.match(p.url(), new RegExp(`#/overrides\\?job=${job.id}$`));
    const forJob = (await env.admin.get(`/overrides?job=${job.id}&limit=1000`)).items.map((o) => String(o.id));
    assert.deepEqual(await p.locator('tr[data-override]').evaluateAll((els) => els.map((e) => e.dataset.override)), forJob);
    noProblems(p);
  });

  test('Users: an admin changes a role, resets a password (it logs in), creates a token (shown once) and revokes it', async () => {
    await env.admin.post('/users', { name: 'temp-user', role: 'viewer', password: 'first-password-1' });
    const p = await page();
    await login(p, env, USERS.admin);
    await goto(p, env, '#/users');
    const row = () => p.locator('tr[data-user="temp-user"]');
    assert.equal(await p.locator(`tr[data-user="${USERS.admin.name}"] select[name="role"]`).isDisabled(), true, 'not your own role');

    // Role.
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await row().locator('select[name="role"]').selectOption('operator');
    await ready(p);
    await p.waitForSelector('tr[data-user="temp-user"] .badge-role:has-text("operator")');
    assert.equal((await env.admin.get('/users?limit=1000')).items.find((u) => u.name === 'temp-user').role, 'operator');
    assert.ok((await env.admin.get('/audit?action=user.role&limit=10')).items.some((a) => a.target === 'temp-user'), 'user.role audited');

    // Password: two different entries are refused on the page, the same twice is set.
    await row().locator('button[data-action="reset-password"]').click();
    await p.waitForSelector('dialog[open] input[name="new-password"]');
    await p.fill('dialog[open] input[name="new-password"]', 'second-password-2');
    await p.fill('dialog[open] input[name="confirm-password"]', 'second-password-X');
    await p.click('dialog[open] button[data-action="set-password"]');
    await p.waitForSelector('dialog[open] .form-error:has-text("differ")');
    await p.fill('dialog[open] input[name="confirm-password"]', 'second-password-2');
    await screenshot(p, 'users-reset-password', { fullPage: false });
    await p.click('dialog[open] button[data-action="set-password"]');
    await p.waitForSelector('.toast:has-text("Password of temp-user changed")');
    await p.waitForSelector('dialog[open]', { state: 'detached' }).catch(() => {});
    assert.equal(await p.locator('dialog[open]').count(), 0, 'the dialog closed');
    assert.equal(await apiLoginStatus('temp-user', 'first-password-1'), 401, 'the old password no longer works');
    const t = await page();
    await login(t, env, { name: 'temp-user', password: 'second-password-2' });
    assert.equal(await t.textContent('#userbox .who-name'), 'temp-user');
    assert.match(await t.textContent('#userbox .badge-role'), /operator/);
    noProblems(t);

    // Token: created for temp-user, shown once, works; revoked, it gets 401.
    await p.selectOption('select[name="token-user"]', 'temp-user');
    await p.fill('input[name="token-name"]', 'monitoring');
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await p.click('button[data-action="create-token"]');
    await ready(p);
    await p.waitForSelector('.token-once .token-value');
    const token = (await p.textContent('.token-once .token-value')).trim();
    assert.ok(token.length >= 20, `a token: ${token}`);
    assert.equal(await tokenStatus(token), 200, 'the token authenticates');
    const listed = (await env.admin.get('/tokens?user=temp-user')).items;
    assert.equal(listed.length, 1);
    const trow = p.locator(`tr[data-token="${listed[0].id}"]`);
    assert.match(await trow.textContent(), /temp-user/);
    assert.match(await trow.textContent(), /monitoring/);
    assert.ok(!(await trow.textContent()).includes(token), 'the list never shows the token');
    await screenshot(p, 'users-tokens');
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await trow.locator('button[data-action="revoke-token"]').click();
    await ready(p);
    await p.waitForSelector(`tr[data-token="${listed[0].id}"][data-revoked="true"]`);
    assert.equal(await tokenStatus(token), 401, 'a revoked token gets 401');
    await p.reload();
    await ready(p);
    assert.equal(await p.locator('.token-value').count(), 0, 'the token is not shown again');
    noProblems(p);
  });

  test('Customers are sorted naturally (2 before 10)', async () => {
    const oper = await new ApiClient(env.url).login(USERS.operator);
    for (const c of ['Shop 10', 'Shop 2', 'Shop 1']) await oper.post('/jobs', { source: 'scripts', name: `backup ${c}`, customer: c });
    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, '#/customers');
    const names = await p.locator('table.grid tbody tr td:first-child').allTextContents();
    const shops = names.filter((n) => /^Shop \d+$/.test(n));
    assert.deepEqual(shops, ['Shop 1', 'Shop 2', 'Shop 10'], `natural order: ${names.join(', ')}`);
    const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    for (let i = 1; i < names.length; i++) assert.ok(coll.compare(names[i - 1], names[i]) <= 0, `${names[i - 1]} before ${names[i]}`);
    noProblems(p);
  });

  test('at 390 px no page scrolls sideways: every page, the job page with its colour bar, the run dialog, the login page', async () => {
    const size = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
    const wide = async (p) => p.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    const out = await page(size);
    await out.goto(`${env.url}/`);
    await ready(out);
    await out.waitForSelector('form.login');
    let w = await wide(out);
    assert.ok(w.sw <= w.cw, `login: scrollWidth ${w.sw} > clientWidth ${w.cw}`);
    await screenshot(out, 'mobile-login');
    noProblems(out);

    const p = await page(size);
    await login(p, env, USERS.admin);
    const hashes = [['#/', 'dashboard'], ['#/runs', 'run-checks'], ['#/daily', 'daily'], ['#/jobs', 'jobs'], [`#/jobs/${job.id}`, 'job'],
      ['#/customers', 'customers'], ['#/sources', 'sources'], ['#/audit', 'audit'], ['#/alerts', 'alerts'], ['#/users', 'users'], ['#/overrides', 'overrides']];
    const over = [];
    for (const [hash, name] of hashes) {
      await goto(p, env, hash);
      assert.equal(await p.locator('.error-state').count(), 0, `${hash} loads`);
      w = await wide(p);
      if (w.sw > w.cw) {
        const culprits = await p.evaluate((cw) => [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > cw + 1 && !e.closest('.table-wrap, .cbar-box'))
          .slice(0, 5).map((e) => `${e.tagName}.${e.className}`), w.cw);
        over.push(`${hash}: ${w.sw} > ${w.cw} (${culprits.join(' ')})`);
      }
      await screenshot(p, `mobile-${name}`);
    }
    assert.deepEqual(over, [], 'no horizontal overflow at 390 px');
    // The colour bar fits: 28 cells inside the screen.
    await goto(p, env, `#/jobs/${job.id}`);
    const cells = await p.locator('ol.cbar > li').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
    assert.equal(cells.length, 28);
    assert.ok(Math.max(...cells) <= 390, `the colour bar fits: right edge ${Math.max(...cells)}`);
    // The run dialog too.
    await p.locator('tr[data-run] td.col-act button').first().click();
    await p.waitForSelector('dialog[open] .facts');
    await ready(p);
    w = await wide(p);
    assert.ok(w.sw <= w.cw, `run dialog: ${w.sw} > ${w.cw}`);
    const dlg = await p.locator('dialog[open]').evaluate((d) => ({ sw: d.scrollWidth, cw: d.clientWidth }));
    assert.ok(dlg.sw <= dlg.cw, `the dialog itself does not scroll sideways: ${dlg.sw} > ${dlg.cw}`);
    await screenshot(p, 'mobile-run-dialog', { fullPage: false });
    noProblems(p);
  });
});
