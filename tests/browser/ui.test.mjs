// The web UI in a real browser (Debian's chromium) against a real `backupctl serve` polling
// cove-sim and hycu-sim: log in, Run Checks shows the simulators' failures, overrides and
// remarks, what a viewer may do (and a forged request may not), the colour bar against Cove's
// D09F08, vendor text that looks like HTML, and reviewing until the page is empty.
// Each test saves a screenshot under $BROWSER_OUT (default build/browser).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, USERS, goto, launchBrowser, login, newPage, ready, screenshot, startEnv } from './env.mjs';

const XSS_NAME = '<img src=x onerror=alert(1)>';
const COVE_FAILED = new Set(['2', '3', '6', '7', '10', '11']);
const DIGIT_STATUS = { 0: 'none', 1: 'running', 2: 'failed', 3: 'failed', 4: 'unknown', 5: 'success', 6: 'failed', 7: 'failed', 8: 'warning', 9: 'running' };
const RANK = { failed: 6, missed: 5, warning: 4, unknown: 3, running: 2, success: 1, override: 1 };

let env;
let browser;
const pages = [];

async function page(opts) {
  const p = await newPage(browser, opts);
  pages.push(p);
  return p;
}

function noProblems(p) {
  assert.deepEqual(p.problems, [], 'no page error, console error or CSP violation');
  assert.deepEqual(p.dialogs, [], 'no JavaScript dialog opened');
}

// Ask the daemon to poll a source now and wait until that poll has finished.
async function pollNow(name) {
  const last = async () => ((await env.admin.get('/sources')).items.find((x) => x.name === name).last_poll || {});
  const before = await last();
  await env.admin.post(`/sources/${name}/poll`);
  for (let i = 0; i < 400; i++) {
    const now = await last();
    if (now.finished_at && (now.started_at !== before.started_at || now.finished_at !== before.finished_at)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no poll of ${name} finished`);
}

async function simAdvance(body) {
  const res = await fetch(`${env.coveUrl}/__sim/advance`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200);
}

async function simDevices() {
  const res = await fetch(`${env.coveUrl}/__sim/devices`);
  assert.equal(res.status, 200);
  return (await res.json()).devices;
}

describe('web UI', { timeout: 300000 }, () => {
  before(async () => {
    [env, browser] = await Promise.all([startEnv({ coveDevices: 40, coveCustomers: 3 }), launchBrowser()]);
  });

  after(async () => {
    for (const p of pages) await p.context().close().catch(() => {});
    if (browser) await browser.close();
    if (env) await env.stop();
  });

  test('log in: a deep link asks for the login, a wrong password is refused, the right one opens the page', async () => {
    const p = await page({ timezoneId: 'America/New_York' });
    await p.goto(`${env.url}/#/runs`);
    await ready(p);
    assert.match(p.url(), /#\/login\?next=/);
    await p.fill('input[name="username"]', USERS.admin.name);
    await p.fill('input[name="password"]', 'not-the-password');
    await p.click('form.login button[type="submit"]');
    await p.waitForSelector('.form-error:has-text("Wrong username or password")');
    await p.fill('input[name="password"]', USERS.admin.password);
    await p.click('form.login button[type="submit"]');
    await p.waitForSelector('#userbox .who-name');
    await ready(p);
    assert.match(p.url(), /#\/runs$/, 'back to the page that was asked for');

    await goto(p, env, '#/');
    const unrev = await env.admin.get('/runs?reviewed=false&limit=1');
    assert.equal((await p.textContent('#unreviewed-card .unrev-n')).replace(/\D/g, ''), String(unrev.total));
    // Sources health: both sources, up.
    for (const s of ['cove-msp', 'hycu-lab']) {
      assert.match(await p.textContent(`tr[data-source="${s}"]`), /Up/);
    }
    // Times: the viewer's zone on the page, UTC on hover.
    const t = p.locator('time[datetime]').first();
    assert.match(await t.getAttribute('title'), /UTC$/);
    await screenshot(p, 'dashboard');
    noProblems(p);
  });

  test("Run Checks shows the simulators' failures, worst first", async () => {
    const p = await page();
    await login(p, env, USERS.admin);
    await goto(p, env, '#/runs');
    const failedDevices = (await simDevices()).filter((d) => COVE_FAILED.has(String(d.D09F00)));
    assert.ok(failedDevices.length > 0, 'the simulated fleet has failed devices');
    for (const d of failedDevices) {
      const group = p.locator('.rc-group').filter({ has: p.locator('.rc-gtitle .jobname', { hasText: d.I1 }) });
      assert.equal(await group.count(), 1, `a group for ${d.I1}`);
      assert.equal(await group.getAttribute('data-worst'), 'failed', `${d.I1} shows Failed`);
      assert.match(await group.locator('.chip[data-status="failed"]').first().textContent(), /Failed/);
    }
    // HYCU: the failed scheduler-triggered backup is there with the vendor's message.
    const db01 = p.locator('.rc-group').filter({ has: p.locator('.rc-gtitle .jobname', { hasText: 'db01' }) });
    assert.equal(await db01.count(), 1);
    assert.match(await db01.textContent(), /Failed/);
    const failedTotal = (await env.admin.get('/runs?reviewed=false&status=failed&limit=1')).total;
    assert.match(await p.textContent('.summary'), new RegExp(`${failedTotal} failed`));
    // Worst first: the customers (by their worst run), and the jobs inside each customer.
    const sections = await p.locator('section.rc-cust').evaluateAll((els) => els.map((e) => [...e.querySelectorAll('.rc-group')].map((g) => g.dataset.worst)));
    assert.ok(sections.length > 0, 'runs grouped by customer');
    const worstOf = (heads) => Math.max(...heads.map((x) => RANK[x]));
    for (let i = 1; i < sections.length; i++) assert.ok(worstOf(sections[i - 1]) >= worstOf(sections[i]), `customer ${i} is not worse than customer ${i - 1}: ${JSON.stringify(sections)}`);
    for (const heads of sections) {
      for (let i = 1; i < heads.length; i++) assert.ok(RANK[heads[i - 1]] >= RANK[heads[i]], `group ${i} is not worse than group ${i - 1}: ${heads.join(',')}`);
    }
    await screenshot(p, 'run-checks', { fullPage: false });
    await screenshot(p, 'run-checks-full');
    noProblems(p);
  });

  test("the colour bar of a Cove job matches its D09F08, newest day on the right", async () => {
    const p = await page({ timezoneId: 'Asia/Tokyo' });
    await login(p, env, USERS.admin);
    const jobs = (await env.admin.get('/jobs?source=cove-msp&limit=1000')).items;
    const devices = new Map((await simDevices()).map((d) => [String(d.AccountId), d]));
    // A few jobs with different bars, at least one with a failure in it.
    const picked = [];
    const seen = new Set();
    for (const j of jobs) {
      const bar = devices.get(String(j.external_id))?.D09F08;
      if (!bar || seen.has(bar)) continue;
      if (picked.length === 0 && !/[2367]/.test(bar)) continue;
      seen.add(bar);
      picked.push(j);
      if (picked.length === 3) break;
    }
    assert.ok(picked.length >= 1, 'a Cove job with a failure in its colour bar');
    for (const j of picked) {
      const res = await fetch(`${env.coveUrl}/__sim/devices?account_id=${j.external_id}`);
      const digits = String((await res.json()).D09F08).slice(-28);
      await goto(p, env, `#/jobs/${j.id}`);
      const cells = await p.locator('ol.cbar > li').evaluateAll((els) => els.map((e) => ({
        digit: e.dataset.digit, status: e.dataset.status, date: e.dataset.date, title: e.getAttribute('title'),
      })));
      assert.equal(cells.length, 28, 'one cell per day');
      const withData = cells.filter((c) => c.digit !== '');
      assert.equal(withData.map((c) => c.digit).join(''), digits, `job ${j.name}: cells = D09F08`);
      // A day without a backup (0) that backupctl recorded as Missed is drawn Missed (issue 9).
      const missedDays = new Set((await env.admin.get(`/runs?job=${j.id}&status=missed&limit=1000`)).items.map((r) => r.start_at.slice(0, 10)));
      withData.forEach((c, i) => assert.equal(c.status, digits[i] === '0' && missedDays.has(c.date) ? 'missed' : DIGIT_STATUS[digits[i]], `day ${i}: digit ${digits[i]}`));
      // Newest on the right: dates strictly increase, the last one is the bar's day.
      for (let i = 1; i < withData.length; i++) assert.ok(withData[i - 1].date < withData[i].date);
      const asOf = (await env.admin.get(`/jobs/${j.id}`)).colour_bar.as_of.slice(0, 10);
      assert.equal(withData[withData.length - 1].date, asOf);
      for (const c of withData) assert.ok(c.title && c.title.length > 8, 'a tooltip per day');
      assert.match(withData[withData.length - 1].title, /Cove \d/);
      assert.equal(await p.locator('.cbar-legend li').count(), 7, 'a legend (Missed included)');
    }
    await goto(p, env, `#/jobs/${picked[0].id}`);
    await screenshot(p, 'job-details');
    noProblems(p);
  });

  test('a device named like HTML renders as text', async () => {
    const p = await page();
    await login(p, env, USERS.admin);
    const job = (await env.admin.get(`/jobs?q=${encodeURIComponent('onerror')}`)).items.find((j) => j.name === XSS_NAME);
    assert.ok(job, 'cove-sim has the XSS device');
    for (const hash of ['#/runs', `#/jobs/${job.id}`, `#/jobs?q=${encodeURIComponent('onerror')}`, '#/daily']) {
      await goto(p, env, hash);
      const shown = p.getByText(XSS_NAME, { exact: true }).first();
      assert.ok(await shown.isVisible(), `the name is visible as text on ${hash}`);
      assert.equal(await p.locator('img').count(), 0, `no <img> element on ${hash}`);
      if (hash.startsWith('#/jobs/')) {
        assert.equal(await p.textContent('#page-title'), XSS_NAME);
        await screenshot(p, 'xss-as-text');
      }
    }
    await p.waitForTimeout(200); // an onerror handler would have fired by now
    noProblems(p);
  });

  test('an override turns a failing run into "Success (override)"; a remark sticks to the run', async () => {
    const p = await page();
    await login(p, env, USERS.operator);
    const run = (await env.admin.get('/runs?reviewed=false&status=failed&source=cove-msp&limit=1')).items[0];
    assert.ok(run, 'an unreviewed failed Cove run');
    await goto(p, env, '#/runs');
    await p.click(`tr[data-run="${run.id}"] button[data-action="details"]`);
    await p.waitForSelector('dialog[open] .facts');
    await ready(p);
    assert.match(await p.textContent('dialog[open] .facts'), /Failed/);

    // A remark.
    await p.click('dialog[open] button[data-action="remark"]');
    await p.fill('dialog[open] textarea', 'Disk full on the NAS — ticket 4711');
    await p.click('dialog[open] .panel-form button[type="submit"]');
    await p.waitForSelector('dialog[open] .remark-list li:has-text("ticket 4711")');

    // Treat as success: this job, status failed, any message.
    await p.click('dialog[open] button[data-action="override"]');
    await p.selectOption('dialog[open] .panel-form select >> nth=1', 'failed');
    await p.selectOption('dialog[open] .panel-form select >> nth=2', '');
    await p.click('dialog[open] button[data-action="create-override"]');
    await p.waitForSelector('dialog[open] .facts .chip[data-status="override"]');
    await ready(p);
    await p.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
    await screenshot(p, 'run-details-override', { fullPage: false });
    assert.match(await p.textContent('dialog[open] .facts'), /Success \(override\)/);
    assert.match(await p.textContent('dialog[open] .facts'), /stored status: failed/);
    await p.keyboard.press('Escape');
    await ready(p);
    const chip = p.locator(`tr[data-run="${run.id}"] .chip`);
    await chip.waitFor();
    assert.equal(await chip.getAttribute('data-status'), 'override');
    assert.equal((await chip.textContent()).trim().replace(/^✓/, ''), 'Success (override)');

    const after = await env.admin.get(`/runs/${run.id}`);
    assert.equal(after.status, 'success');
    assert.equal(after.override, true);
    assert.equal(after.original_status, 'failed');
    assert.ok(after.remarks.some((m) => /ticket 4711/.test(m.body)));

    // The job page lists the override and the remark.
    await goto(p, env, `#/jobs/${run.job.id}`);
    assert.equal(await p.locator('tr[data-override]').count() >= 1, true);
    assert.match(await p.textContent('.remark-list'), /ticket 4711/);
    await p.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
    await screenshot(p, 'job-details-override');
    noProblems(p);
  });

  test('a viewer sees no buttons it cannot use, and forged requests are refused', async () => {
    const p = await page();
    await login(p, env, USERS.viewer);
    await goto(p, env, '#/runs');
    assert.ok(await p.locator('.rc-group').count() > 0, 'the viewer sees the runs');
    const forbidden = 'button[data-action="review-run"], button[data-action="review-job"], button[data-action="review-customer-successes"], #rc-review-selected, #rc-select-successes, #rc-select-all, #rc-include-reviewed, .rc-group input[type="checkbox"]';
    assert.equal(await p.locator(forbidden).count(), 0, 'no review controls');
    await p.locator('button[data-action="details"]').first().click();
    await p.waitForSelector('dialog[open] .facts');
    assert.equal(await p.locator('dialog[open] button[data-action]').count(), 0, 'no actions in the run details');
    await screenshot(p, 'viewer-run-details');
    await p.keyboard.press('Escape');
    await goto(p, env, '#/sources');
    assert.equal(await p.locator('button[data-action="poll"], button[data-action="pause"]').count(), 0, 'no poll/pause');
    assert.equal(await p.locator('nav.topnav a[href="#/users"], nav.topnav a[href="#/audit"]').count(), 0, 'no admin pages');
    const job = (await env.admin.get('/jobs?limit=1&status=failed')).items[0];
    await goto(p, env, `#/jobs/${job.id}`);
    assert.equal(await p.locator('button[data-action="review-job"]').count(), 0);
    await screenshot(p, 'viewer-job');

    const run = (await env.admin.get('/runs?reviewed=false&limit=1')).items[0];
    // A viewer's request without the CSRF header, then with it: both 403.
    const forged = await p.evaluate(async (id) => {
      const noToken = await fetch(`/api/v1/runs/${id}/review`, { method: 'POST' });
      const s = await (await fetch('/api/v1/session')).json();
      const withToken = await fetch(`/api/v1/runs/${id}/review`, { method: 'POST', headers: { 'X-CSRF-Token': s.csrf_token } });
      const override = await fetch('/api/v1/overrides', { method: 'POST', headers: { 'X-CSRF-Token': s.csrf_token, 'Content-Type': 'application/json' }, body: JSON.stringify({ match_status: 'failed' }) });
      return [noToken.status, withToken.status, override.status];
    }, run.id);
    assert.deepEqual(forged, [403, 403, 403]);
    // An admin's cookie without (or with a wrong) CSRF token: 403 too.
    const a = await page();
    await login(a, env, USERS.admin);
    const adminForged = await a.evaluate(async (id) => {
      const none = await fetch(`/api/v1/runs/${id}/review`, { method: 'POST' });
      const wrong = await fetch(`/api/v1/runs/${id}/review`, { method: 'POST', headers: { 'X-CSRF-Token': 'forged' } });
      return [none.status, (await none.json()).error.code, wrong.status];
    }, run.id);
    assert.deepEqual(adminForged, [403, 'csrf', 403]);
    const still = await env.admin.get(`/runs/${run.id}`);
    assert.equal(still.reviewed, false, 'the run is still unreviewed');
    noProblems(p);
    noProblems(a);
  });

  test('a run still running offers no review control; the API refuses to review it', async () => {
    // A device whose last session succeeded starts a new one.
    const dev = (await simDevices()).find((d) => d.D09F00 === '5');
    assert.ok(dev, 'a device whose last session completed');
    await simAdvance({ account_id: dev.AccountId, status: 1 });
    await pollNow('cove-msp');
    const runs = (await env.admin.get(`/runs?status=running&reviewed=false&limit=1000`)).items;
    const run = runs.find((r) => r.job.name === dev.I1);
    assert.ok(run, `the new running run of ${dev.I1}`);

    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, '#/runs');
    const row = p.locator(`tr[data-run="${run.id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('button[data-action="review-run"], input[type="checkbox"]').count(), 0, 'no review button or checkbox on the running run');
    assert.match(await row.textContent(), /Running: review when it ends/);
    // "Select all shown" never selects it.
    await p.check('#rc-select-all');
    assert.equal(await row.locator('input[type="checkbox"]:checked').count(), 0);
    await p.uncheck('#rc-select-all');
    await row.locator('button[data-action="details"]').click();
    await p.waitForSelector('dialog[open] .facts');
    assert.equal(await p.locator('dialog[open] button[data-action="review-run"]').count(), 0, 'no review in the run details');
    assert.match(await p.textContent('dialog[open]'), /Running: review when it ends/);
    await screenshot(p, 'running-run-details', { fullPage: false });
    await p.keyboard.press('Escape');
    // The API says why (from outside the page: a refused request logs a console error), and the
    // run stays unreviewed.
    await assert.rejects(env.admin.post(`/runs/${run.id}/review`), /HTTP 409 .*still running/);
    assert.equal((await env.admin.get(`/runs/${run.id}`)).reviewed, false);
    noProblems(p);
  });

  test('reviewing every run empties Run Checks, and the API agrees', async () => {
    // Runs still running cannot be reviewed: let every session end first, as an operator waits.
    await simAdvance({ complete_running: true });
    await pollNow('cove-msp');
    assert.equal((await env.admin.get('/runs?status=running&reviewed=false&limit=1')).total, 0, 'nothing is still running');
    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, '#/runs');
    const before = (await env.admin.get('/runs?reviewed=false&limit=1')).total;
    assert.ok(before > 0);

    // One whole job, then one run by keyboard, then the rest by selection.
    const firstJob = p.locator('.rc-group button[data-action="review-job"]').first();
    const jobId = await firstJob.evaluate((b) => b.closest('.rc-group').dataset.job);
    await firstJob.click();
    await p.waitForSelector(`.rc-group[data-job="${jobId}"]`, { state: 'detached' });
    await ready(p);
    const oneRun = p.locator('.rc-group button[data-action="review-run"]').first();
    const runId = await oneRun.evaluate((b) => b.closest('tr').dataset.run);
    await oneRun.focus();
    await p.keyboard.press('Enter');
    await p.waitForSelector(`tr[data-run="${runId}"]`, { state: 'detached' });
    await ready(p);
    assert.equal((await env.admin.get(`/runs/${runId}`)).reviewed, true);

    // A remark on a selection of two runs.
    const boxes = p.locator('.rc-group input[type="checkbox"]');
    const picked = await boxes.evaluateAll((els) => els.slice(0, 2).map((e) => e.closest('tr').dataset.run));
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await p.click('#rc-remark-selected');
    await p.fill('dialog[open] textarea', 'Known issue, see change 12');
    await p.click('dialog[open] button[type="submit"]');
    await p.waitForSelector('.toast:has-text("Remark saved on 2 runs")');
    for (const id of picked) {
      const r = await env.admin.get(`/runs/${id}`);
      assert.ok(r.remarks.some((m) => m.body === 'Known issue, see change 12'), `remark on run ${id}`);
    }

    for (let i = 0; i < 20 && await p.locator('#rc-empty').count() === 0; i++) {
      await p.check('#rc-select-all');
      await p.click('#rc-review-selected');
      await p.waitForSelector('#rc-empty, #rc-review-selected:disabled', { timeout: 20000 });
      await ready(p);
    }
    await p.waitForSelector('#rc-empty');
    assert.match(await p.textContent('#rc-empty'), /All runs are reviewed/);
    const api = await env.admin.get('/runs?reviewed=false');
    assert.equal(api.total, 0, 'GET /api/v1/runs?reviewed=false answers total 0');
    assert.equal(await p.locator('.nav-badge').isVisible(), false, 'no unreviewed badge');
    await p.reload();
    await ready(p);
    await p.waitForSelector('#rc-empty');
    await screenshot(p, 'run-checks-empty');

    // An admin can still show the reviewed runs.
    const a = await page();
    await login(a, env, USERS.admin);
    await goto(a, env, '#/runs');
    await a.check('#rc-include-reviewed');
    await ready(a);
    await a.waitForSelector('tr.is-reviewed');
    assert.ok(await a.locator('tr.is-reviewed').count() > 0);
    noProblems(p);
    noProblems(a);
  });

  test('Daily Jobs, Customers, Sources, Audit log and Users load, with keyboard focus visible', async () => {
    const p = await page();
    await login(p, env, USERS.admin);
    for (const [hash, name] of [['#/daily', 'daily-jobs'], ['#/customers', 'customers'], ['#/sources', 'sources'], ['#/audit', 'audit'], ['#/users', 'users'], ['#/jobs', 'jobs']]) {
      await goto(p, env, hash);
      assert.equal(await p.locator('.error-state').count(), 0, `${hash} loads`);
      await screenshot(p, name);
    }
    // The audit log has the reviews and the override of the tests above.
    await goto(p, env, '#/audit');
    assert.match(await p.textContent('main'), /run\.review/);
    assert.match(await p.textContent('main'), /override\.create/);
    // Admin: poll a source now; the page updates without a reload.
    await goto(p, env, '#/sources');
    await p.click('tr[data-source="hycu-lab"] button[data-action="poll"]');
    await p.waitForSelector('.toast:has-text("queued")');
    // Keyboard: the focused control is drawn with a visible outline.
    await p.keyboard.press('Tab');
    const focused = await p.evaluate(() => {
      const e = document.activeElement;
      const s = getComputedStyle(e);
      return { tag: e.tagName, text: e.textContent, outline: s.outlineStyle, width: s.outlineWidth };
    });
    assert.ok(focused.outline !== 'none' && focused.width !== '0px', `focus is visible: ${JSON.stringify(focused)}`);
    noProblems(p);
  });

  // Issue 14: a job that reports its own runs shows an operator its ping URL and ready-made
  // snippets; a ping through the URL the page shows is a run on the same page; a viewer never
  // sees the URL (it is the job's credential).
  test('a push job shows its ping URL and snippets to an operator, a ping lands on its page, a viewer sees no URL', async () => {
    const oper = await new ApiClient(env.url).login(USERS.operator);
    const job = await oper.post('/jobs', { source: 'scripts', name: 'pg-dump nightly', customer: 'Lab Corp' });
    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, `#/jobs/${job.id}`);
    const shown = await p.textContent('code.ping-url');
    assert.equal(shown, job.ping_url, 'the page shows the ping URL the API created');
    const snippets = await p.locator('.snippet pre').allTextContents();
    assert.ok(snippets.length >= 3, `curl, backupctl and cron/systemd snippets: ${snippets.length}`);
    assert.ok(snippets.every((t) => t.includes(job.ping_url)), 'every snippet uses this job\'s URL');
    assert.match(snippets.join('\n'), /backupctl ping "[^"]+" -- /);
    await screenshot(p, 'push-job-operator');
    const ping = await fetch(`${shown}/fail`, { method: 'POST', body: 'pg_dump: connection refused' });
    assert.equal(ping.status, 200);
    await goto(p, env, `#/jobs/${job.id}`);
    assert.match(await p.textContent('main'), /Failed/);
    noProblems(p);

    const v = await page();
    await login(v, env, USERS.viewer);
    await goto(v, env, `#/jobs/${job.id}`);
    assert.equal(await v.locator('code.ping-url, .snippet').count(), 0, 'no URL for a viewer');
    const html = await v.content();
    assert.ok(!html.includes(job.ping_url.split('/ping/')[1]), 'the uuid is nowhere in the viewer\'s page');
    noProblems(v);
  });

  // Issue 10: the Alerts page shows what the [alert] section queued and why it is not
  // delivered yet; an operator sends one again now, a viewer cannot.
  test('the Alerts page lists undelivered alerts with their error; an operator retries one, a viewer cannot', async () => {
    let items = [];
    for (let i = 0; i < 200 && !items.some((a) => a.attempts >= 1 && a.last_error); i++) {
      items = (await env.admin.get('/alerts?limit=200')).items;
      if (!items.some((a) => a.attempts >= 1 && a.last_error)) await new Promise((r) => setTimeout(r, 100));
    }
    const a = items.find((x) => x.attempts >= 1 && x.last_error);
    assert.ok(a, `an attempted alert: ${JSON.stringify(items.slice(0, 3))}`);
    assert.match(a.last_error, /unreachable/);
    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, '#/alerts');
    const row = p.locator(`tr[data-alert="${a.id}"]`);
    assert.match(await row.textContent(), /unreachable/);
    assert.equal(await row.locator('[data-state]').getAttribute('data-state'), a.state);
    await screenshot(p, 'alerts');
    await row.locator('button[data-action="retry-alert"]').click();
    await p.waitForSelector('.toast:has-text("Queued")');
    let after = a;
    for (let i = 0; i < 200 && after.attempts <= a.attempts; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = (await env.admin.get('/alerts?limit=200')).items.find((x) => x.id === a.id);
    }
    assert.ok(after.attempts > a.attempts, `sent again: ${a.attempts} -> ${after.attempts}`);
    noProblems(p);
    const v = await page();
    await login(v, env, USERS.viewer);
    await goto(v, env, '#/alerts');
    assert.ok(await v.locator('tr[data-alert]').count() > 0, 'the viewer sees the alerts');
    assert.equal(await v.locator('button[data-action="retry-alert"]').count(), 0, 'no retry for a viewer');
    noProblems(v);
  });

  // Issue 9: a device that silently stopped backing up is never green. It ran every night for
  // weeks (its colour bar), then nothing for 4 days; one poll later the evaluator has learned
  // its schedule and recorded the nights it missed.
  test('a stopped device shows Missed on the Dashboard tile, in Daily Jobs and in Run Checks', async () => {
    const name = 'stopped-srv-01';
    const add = await fetch(`${env.coveUrl}/__sim/devices`, {
      method: 'POST',
      body: JSON.stringify({ add: {
        name, os_type: 2, account_type: 1, status: 5, errors: 0, duration: 1800,
        last_session: -4 * 86400, last_success: -4 * 86400, colour_bar: `${'5'.repeat(24)}0000`,
      } }),
    });
    assert.equal(add.status, 200, await add.text());
    await pollNow('cove-msp');
    const job = (await env.admin.get(`/jobs?q=${name}`)).items.find((j) => j.name === name);
    assert.ok(job, 'the stopped device is a job after the poll');
    const missed = (await env.admin.get(`/runs?job=${job.id}&status=missed&limit=100`)).items;
    assert.ok(missed.length >= 2, `Missed runs for the silent nights: ${JSON.stringify(missed.map((r) => r.start_at))}`);
    assert.ok(missed.every((r) => r.source_type === 'expected' && !r.reviewed && r.message));

    const p = await page();
    await login(p, env, USERS.operator);
    // Dashboard: the Missed tile counts it; the job is listed as needing attention, not green.
    await goto(p, env, '#/');
    const tile = Number((await p.textContent('.tile[data-status="missed"] .tile-n')).replace(/\D/g, ''));
    const since = new Date();
    since.setHours(0, 0, 0, 0);
    const want = (await env.admin.get(`/runs?status=missed&reviewed=false&from=${since.getTime() - 86400000}&limit=1`)).total;
    assert.ok(want >= 1, 'a Missed run of the stopped device since yesterday');
    assert.equal(tile, want, 'the Missed tile is the API count');
    assert.ok(!(await p.getAttribute('.tile[data-status="missed"]', 'class')).includes('tile-zero'));
    await screenshot(p, 'dashboard-missed');

    // Daily Jobs, yesterday: the device was expected and shows Missed (red), filterable.
    const y = new Date(Date.now() - 86400000);
    const ymd = `${y.getFullYear()}-${String(y.getMonth() + 1).padStart(2, '0')}-${String(y.getDate()).padStart(2, '0')}`;
    await goto(p, env, `#/daily?date=${ymd}`);
    const drow = p.locator(`tr[data-job="${job.id}"]`);
    assert.equal(await drow.count(), 1, `the stopped device is listed on ${ymd} although it did not run`);
    assert.equal(await drow.getAttribute('data-daily'), 'missed');
    assert.equal(await drow.locator('.chip').getAttribute('data-status'), 'missed');
    assert.match(await drow.textContent(), /Missed/);
    await screenshot(p, 'daily-jobs');
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await p.selectOption('form.filters select[name="status"]', 'missed');
    await ready(p);
    assert.match(p.url(), /status=missed/);
    assert.equal(await p.locator(`tr[data-job="${job.id}"]`).count(), 1);
    assert.ok(await p.locator('tbody tr').evaluateAll((els) => els.every((e) => e.dataset.daily === 'missed')), 'only Missed jobs with the filter');

    // Run Checks: the Missed runs are runs to review; reviewing one freezes it.
    await goto(p, env, '#/runs');
    const group = p.locator(`.rc-group[data-job="${job.id}"]`);
    assert.equal(await group.count(), 1, 'a Run Checks group for the stopped device');
    assert.equal(await group.getAttribute('data-worst'), 'missed');
    const missedRows = group.locator('tr').filter({ has: p.locator('.chip[data-status="missed"]') });
    assert.equal(await missedRows.count(), missed.length, 'every Missed run of it');
    assert.match(await missedRows.first().textContent(), /Expected schedule/);
    await screenshot(p, 'run-checks-missed', { fullPage: false });
    const first = missedRows.first();
    const rid = Number(await first.getAttribute('data-run'));
    await first.locator('button[data-action="review-run"]').click();
    await p.waitForSelector(`tr[data-run="${rid}"]`, { state: 'detached' });
    const after = await env.admin.get(`/runs/${rid}`);
    assert.ok(after.reviewed && after.status === 'missed', 'reviewed, still Missed');

    // The job page: its schedule, a freshness badge that is not green, Missed days in the bar.
    await goto(p, env, `#/jobs/${job.id}`);
    assert.notEqual(await p.locator('.job-meta .chip').first().getAttribute('data-status'), 'success');
    assert.match(await p.textContent('#schedule-desc'), /daily|every|cron|several|weekly/);
    assert.ok(await p.locator('.cbar-cell[data-status="missed"]').count() >= 2, 'Missed days in the colour bar');
    assert.equal(await p.getAttribute('#schedule-origin', 'data-origin'), 'learned');
    await screenshot(p, 'job-details');
    // An operator configures the schedule: the parser's message for a bad cron, then a good one
    // (evaluated at once: the page shows it configured).
    await p.click('.schedule-edit summary');
    await p.fill('.schedule-form input[name="spec"]', '0 25 * * *');
    await p.click('.schedule-form button[data-action="schedule-save"]');
    await p.waitForSelector('#schedule-error:has-text("spec: cron")');
    assert.match(await p.textContent('#schedule-error'), /hour/);
    // the browser logs that refused request (400) as a console error: exactly that one
    const bad = p.problems.filter((m) => /status of 400/.test(m));
    assert.equal(bad.length, 1, `one 400, the refused cron: ${JSON.stringify(p.problems)}`);
    p.problems = p.problems.filter((m) => !/status of 400/.test(m));
    await p.fill('.schedule-form input[name="spec"]', '30 6 * * *');
    await p.fill('.schedule-form input[name="timezone"]', 'Europe/Paris');
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await p.click('.schedule-form button[data-action="schedule-save"]');
    await p.waitForSelector('#schedule-origin[data-origin="api"]');
    await ready(p);
    assert.equal((await env.admin.get(`/jobs/${job.id}`)).schedule.configured.spec, '30 6 * * *');
    await screenshot(p, 'job-schedule-configured');
    noProblems(p);
  });
});
