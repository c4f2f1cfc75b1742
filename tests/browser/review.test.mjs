// A morning's review at MSP scale (issue 13), in a real browser (Debian's chromium) against a
// real `backupctl serve` polling cove-sim and hycu-sim: Run Checks filtered to one customer by
// its visible control and the URL, that customer's successes reviewed with the keyboard only,
// then the rest until the page is empty for it, and the same view after a reload; the 28-day
// strip on every row of Run Checks, Daily Jobs and Jobs; a failed datasource named on its row; a
// remark's indicator; at least 25 runs on a 1440×900 screen. Screenshots under $BROWSER_OUT
// (run-checks.png and daily-jobs.png are the ones in docs/screenshots).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { USERS, goto, launchBrowser, login, newPage, ready, screenshot, startEnv } from './env.mjs';

let env;
let browser;
const pages = [];
const VIEW = { viewport: { width: 1440, height: 900 } };

async function page(opts = VIEW) {
  const p = await newPage(browser, opts);
  pages.push(p);
  return p;
}

function noProblems(p) {
  assert.deepEqual(p.problems, [], 'no page error, console error or CSP violation');
  assert.deepEqual(p.dialogs, [], 'no JavaScript dialog opened');
}

// Poll the page (bounded) until fn() is true; the last value on failure.
async function until(p, fn, arg, what) {
  let v;
  for (let i = 0; i < 200; i++) {
    v = await p.evaluate(fn, arg);
    if (v) return v;
    await p.waitForTimeout(50);
  }
  throw new Error(`not reached: ${what}`);
}

// Every row of the list has a 28-day strip: a symbol and a dated tooltip per day.
async function assertStrips(p, rowSel, what) {
  const rows = await p.locator(rowSel).evaluateAll((els) => els.map((tr) => {
    const cells = [...tr.querySelectorAll('.hstrip .hs')];
    return {
      n: cells.length,
      titled: cells.every((c) => /^\d{4}-\d{2}-\d{2}: (Success|Warning|Failed|Missed|Running|Unknown|No run)$/.test(c.title)),
      symbols: cells.every((c) => c.textContent.trim().length === 1),
      label: (tr.querySelector('.hstrip') || {}).ariaLabel || '',
    };
  }));
  assert.ok(rows.length > 0, `${what}: rows`);
  rows.forEach((r, i) => {
    assert.equal(r.n, 28, `${what} row ${i}: 28 days`);
    assert.ok(r.titled, `${what} row ${i}: a date and a status per day`);
    assert.ok(r.symbols, `${what} row ${i}: a symbol per day (not colour alone)`);
    assert.match(r.label, /^Last 28 days: /);
  });
}

describe('Run Checks at MSP scale', { timeout: 300000 }, () => {
  before(async () => {
    [env, browser] = await Promise.all([startEnv({ coveDevices: 60, coveCustomers: 4 }), launchBrowser()]);
  });

  after(async () => {
    for (const p of pages) await p.context().close().catch(() => {});
    if (browser) await browser.close();
    if (env) await env.stop();
  });

  test('dense, with the 28-day strip, datasources and remarks on the rows', async () => {
    // A remark on a run, before the page loads.
    const some = (await env.admin.get('/runs?reviewed=false&status=success&limit=1')).items[0];
    assert.ok(some, 'an unreviewed success');
    await env.admin.post('/remarks', { body: 'Checked with the customer', runs: [some.id] });

    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, '#/runs');
    const total = (await env.admin.get('/runs?reviewed=false&limit=1')).total;
    assert.ok(total >= 30, `enough runs to fill the screen (${total})`);
    await p.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
    await screenshot(p, 'run-checks', { fullPage: false });
    // At least 25 runs entirely on a 1440×900 screen, one line each.
    const visible = await p.locator('tr.rc-run').evaluateAll((els) => els.filter((e) => {
      const r = e.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight;
    }).length);
    assert.ok(visible >= 25, `${visible} runs visible at 1440×900`);
    const heights = await p.locator('tr.rc-run').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    assert.ok(heights.every((x) => x < 30), `one line per run: ${Math.max(...heights)} px`);
    await assertStrips(p, 'tr.rc-run', 'Run Checks');

    // The remark's indicator.
    const badge = p.locator(`tr[data-run="${some.id}"] .badge-remark`);
    assert.equal(await badge.count(), 1, 'the remarked run has the indicator');
    assert.match(await badge.textContent(), /1$/);
    assert.equal(await p.locator(`tr.rc-run:not([data-run="${some.id}"]) .badge-remark`).count(), 0, 'no indicator without a remark');

    // A failed datasource is named on its run's row, and Cove's status codes have their words.
    const runs = (await env.admin.get('/runs?reviewed=false&extras=true&limit=1000')).items;
    const withBad = runs.find((r) => r.objects.some((o) => o.status === 'failed'));
    assert.ok(withBad, 'a run with a failed datasource');
    const bad = withBad.objects.find((o) => o.status === 'failed');
    const row = p.locator(`tr[data-run="${withBad.id}"]`);
    assert.match(await row.locator('.col-msg').textContent(), new RegExp(`${bad.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed`));
    const coveFailed = runs.find((r) => r.raw_status === '2');
    if (coveFailed) assert.match(await p.locator(`tr[data-run="${coveFailed.id}"] .col-raw`).textContent(), /2 Failed/);

    // Daily Jobs and Jobs: the strip on every row; the remark's indicator on its job's day.
    // (on the remarked run's own day, in the browser's time zone: "today" depends on the clock)
    const ymd = await p.evaluate((iso) => {
      const d = new Date(iso);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    }, some.start_at);
    await goto(p, env, `#/daily?date=${ymd}`);
    await assertStrips(p, 'table.grid tbody tr', 'Daily Jobs');
    const drow = p.locator(`tr[data-job="${some.job.id}"]`);
    assert.equal(await drow.count(), 1, `the remarked run's job is on Daily Jobs of ${ymd}`);
    assert.equal(await drow.locator('.badge-remark').count(), 1, 'the remark on Daily Jobs');
    await screenshot(p, 'daily-jobs', { fullPage: false });
    await goto(p, env, '#/jobs?limit=250');
    await assertStrips(p, 'table.grid tbody tr', 'Jobs');
    // Customers sort naturally in the filter.
    const names = await p.locator('form.filters select[name="customer"] option').evaluateAll((os) => os.slice(1).map((o) => o.textContent));
    const sorted = [...names].sort(new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare);
    assert.deepEqual(names, sorted, 'customers in natural order');
    noProblems(p);
  });

  test("one customer's successes reviewed with the keyboard only, then its page emptied; the URL keeps the view", async () => {
    const all = (await env.admin.get('/runs?reviewed=false&limit=1000')).items;
    const byCust = new Map();
    for (const r of all) {
      if (!r.customer || r.customer.id === null) continue;
      const c = byCust.get(r.customer.id) || { customer: r.customer, ok: 0, other: 0, running: 0 };
      if (r.status === 'running') c.running++; // cannot be reviewed yet
      else if (r.status === 'success' && !r.override) c.ok++;
      else c.other++;
      byCust.set(r.customer.id, c);
    }
    const pick = [...byCust.values()].filter((c) => c.ok >= 2 && c.other >= 1 && !c.running && c.ok + c.other <= 40).sort((a, b) => b.other - a.other)[0];
    assert.ok(pick, `a customer with successes and other runs: ${JSON.stringify([...byCust.values()])}`);
    const cid = pick.customer.id;

    const p = await page();
    await login(p, env, USERS.operator);
    await goto(p, env, '#/runs');
    // The visible control: the customer filter.
    await p.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await p.selectOption('form.filters select[name="customer"]', String(cid));
    await ready(p);
    assert.match(p.url(), new RegExp(`#/runs\\?customer=${cid}(&|$)`));
    const shownIds = async () => p.locator('tr.rc-run').evaluateAll((els) => els.map((e) => Number(e.dataset.run)));
    const ids = await shownIds();
    assert.equal(ids.length, pick.ok + pick.other, 'the runs of that customer only');
    assert.deepEqual(await p.locator('section.rc-cust').evaluateAll((els) => els.map((e) => e.dataset.customer)), [String(cid)]);
    assert.match(await p.textContent('section.rc-cust .rc-chead'), new RegExp(`${pick.ok} success`));

    // The URL brings the same view back.
    await p.reload();
    await ready(p);
    assert.equal(await p.inputValue('form.filters select[name="customer"]'), String(cid));
    assert.deepEqual(await shownIds(), ids, 'the same runs after a reload');

    // Keys: / focuses the search, and a key typed there stays in it.
    await p.keyboard.press('/');
    assert.equal(await p.evaluate(() => document.activeElement.name), 'q');
    await p.keyboard.type('jx');
    assert.equal(await p.inputValue('form.filters input[name="q"]'), 'jx');
    assert.equal(await p.locator('tr.rc-run[aria-selected="true"]').count(), 0, 'x in the search selects nothing');
    await p.fill('form.filters input[name="q"]', '');
    await p.evaluate(() => document.activeElement.blur());
    // ? shows the keys.
    await p.keyboard.press('?');
    await p.waitForSelector('dialog[open] #keys-help');
    assert.match(await p.textContent('#keys-help'), /j \/ k.*x.*r.*o or Enter.*n \/ p/s);
    await p.keyboard.press('Escape');
    await p.waitForSelector('dialog[open]', { state: 'detached' }).catch(() => {});
    await until(p, () => !document.querySelector('dialog[open]'), null, 'the help closed');

    // j/k move; o opens the details; n/p step through the runs inside the dialog.
    await p.keyboard.press('j');
    const focused = () => p.evaluate(() => (document.activeElement.matches('tr.rc-run') ? Number(document.activeElement.dataset.run) : null));
    const order = await shownIds();
    assert.equal(await focused(), order[0], 'j focuses the first run');
    await p.keyboard.press('j');
    assert.equal(await focused(), order[1]);
    await p.keyboard.press('k');
    assert.equal(await focused(), order[0]);
    await p.keyboard.press('o');
    await p.waitForSelector('dialog[open] .facts');
    await ready(p);
    assert.equal(await p.getAttribute('dialog[open]', 'data-rc-run'), String(order[0]));
    await p.keyboard.press('n');
    await until(p, (id) => document.querySelector('dialog[open]')?.dataset.rcRun === String(id) && !!document.querySelector('dialog[open] .facts'), order[1], 'n shows the next run');
    const run1 = await env.admin.get(`/runs/${order[1]}`);
    assert.match(await p.textContent('dialog[open] #dlg-title'), new RegExp(run1.job.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await p.keyboard.press('p');
    await until(p, (id) => document.querySelector('dialog[open]')?.dataset.rcRun === String(id), order[0], 'p shows the previous run');
    await p.keyboard.press('Escape');
    await until(p, () => !document.querySelector('dialog[open]'), null, 'the dialog closed');

    // Select every success with x (walking with j), review them with r.
    const statuses = await p.locator('tr.rc-run').evaluateAll((els) => els.map((e) => e.dataset.status));
    await p.keyboard.press('j');
    await until(p, () => document.activeElement.matches('tr.rc-run'), null, 'a run focused');
    // back to the top
    for (let i = 0; i < order.length; i++) await p.keyboard.press('k');
    for (let i = 0; i < order.length; i++) {
      assert.equal(await focused(), order[i]);
      if (statuses[i] === 'success') await p.keyboard.press('x');
      if (i < order.length - 1) await p.keyboard.press('j');
    }
    assert.equal(await p.locator('tr.rc-run[aria-selected="true"]').count(), pick.ok, 'every success selected');
    assert.match(await p.textContent('#rc-review-selected'), new RegExp(`Mark ${pick.ok} selected runs reviewed`));
    await p.keyboard.press('r');
    await until(p, (n) => document.querySelectorAll('tr.rc-run').length === n, pick.other, 'the successes left the page');
    await ready(p);
    assert.equal((await env.admin.get(`/runs?reviewed=false&customer=${cid}&status=success&limit=1`)).total, 0, 'no unreviewed success of the customer');
    assert.equal((await env.admin.get(`/runs?reviewed=false&customer=${cid}&limit=1`)).total, pick.other, 'the other runs wait');
    assert.ok(await focused(), 'focus on an unreviewed run after the review');

    // The rest, one run at a time with r; focus moves to the next unreviewed run each time.
    for (let left = pick.other; left > 0; left--) {
      const cur = await focused();
      assert.ok(cur, `a run focused (${left} left)`);
      await p.keyboard.press('r');
      await until(p, (id) => !document.querySelector(`tr.rc-run[data-run="${id}"]`), cur, `run ${cur} reviewed`);
      await ready(p);
      if (left > 1) await until(p, () => document.activeElement.matches('tr.rc-run'), null, 'focus on the next run');
    }
    await p.waitForSelector('#rc-empty');
    assert.match(await p.textContent('#rc-empty'), /All runs are reviewed for these filters/);
    assert.equal((await env.admin.get(`/runs?reviewed=false&customer=${cid}&limit=1`)).total, 0, 'the API agrees');
    assert.ok((await env.admin.get('/runs?reviewed=false&limit=1')).total > 0, 'other customers still wait');
    await p.reload();
    await ready(p);
    await p.waitForSelector('#rc-empty');
    assert.equal(await p.inputValue('form.filters select[name="customer"]'), String(cid));
    assert.match(p.url(), new RegExp(`customer=${cid}`));
    noProblems(p);
  });

  test('filters of Run Checks, Daily Jobs and Jobs live in the URL and go to the server', async () => {
    const p = await page();
    await login(p, env, USERS.admin);
    await goto(p, env, '#/runs?status=failed&source=cove-msp');
    assert.equal(await p.inputValue('form.filters select[name="status"]'), 'failed');
    assert.equal(await p.inputValue('form.filters select[name="source"]'), 'cove-msp');
    const want = (await env.admin.get('/runs?reviewed=false&status=failed&source=cove-msp&limit=1')).total;
    assert.ok(want > 0);
    assert.equal(await p.locator('tr.rc-run').count(), want);
    assert.ok(await p.locator('tr.rc-run').evaluateAll((els) => els.every((e) => e.dataset.status === 'failed')));
    const kind = (await env.admin.get('/jobs?source=cove-msp&limit=1')).items[0].kind;
    for (const hash of [`#/daily?kind=${kind}`, `#/jobs?kind=${kind}`]) {
      await goto(p, env, hash);
      assert.equal(await p.inputValue('form.filters select[name="kind"]'), kind, `${hash}: the kind filter restored`);
      const kinds = await p.locator('table.grid tbody tr .badge-kind').evaluateAll((els) => [...new Set(els.map((e) => e.textContent))]);
      assert.deepEqual(kinds, [kind], `${hash}: only ${kind} jobs`);
    }
    noProblems(p);
  });

  test('at 390 px Run Checks has no horizontal scroll; the strip shrinks with the row', async () => {
    const p = await page({ viewport: { width: 390, height: 844 } });
    await login(p, env, USERS.operator);
    await goto(p, env, '#/runs');
    assert.ok(await p.locator('tr.rc-run').count() > 0);
    const over = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 0, `${over} px of horizontal scroll`);
    const strips = await p.locator('tr.rc-run .hstrip').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
    assert.ok(strips.length > 0 && strips.every((r) => r <= 390), 'every strip inside the screen');
    const symbolPx = await p.locator('tr.rc-run .hstrip .hs').evaluateAll((els) => Math.min(...els.map((e) => parseFloat(getComputedStyle(e).fontSize))));
    assert.ok(symbolPx >= 7, `the day symbols stay readable (${symbolPx} px)`);
    await screenshot(p, 'run-checks-390', { fullPage: false });
    noProblems(p);
  });
});
