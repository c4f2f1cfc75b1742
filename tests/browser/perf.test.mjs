// With a big fleet (10,000 jobs: cove-sim --devices 10000), Dashboard, Daily Jobs and Run
// Checks load and render: the app reaches "ready" with no request left in flight, no error
// state, a title and content on the page. How fast is a figure, not a test: bench/ui_load
// prints the page-load medians against the 1 s target (a timed test on a shared machine fails
// for reasons that are not the product's).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { USERS, launchBrowser, login, newPage, ready, screenshot, startEnv } from './env.mjs';

const DEVICES = Number(process.env.BK_PERF_DEVICES || 10000);

let env;
let browser;
let context;

describe(`a fleet of ${DEVICES} jobs`, { timeout: 600000 }, () => {
  before(async () => {
    [env, browser] = await Promise.all([
      startEnv({ coveDevices: DEVICES, coveCustomers: 50, readyTimeoutMs: 300000 }),
      launchBrowser(),
    ]);
    const p = await newPage(browser);
    await login(p, env, USERS.admin);
    context = p.context();
    await p.close();
  });

  after(async () => {
    if (browser) await browser.close();
    if (env) await env.stop();
  });

  for (const [name, hash] of [['Dashboard', '#/'], ['Daily Jobs', '#/daily'], ['Run Checks', '#/runs']]) {
    test(`${name} loads and renders`, async () => {
      const jobs = (await env.admin.get('/jobs?limit=1')).total;
      assert.ok(jobs >= DEVICES, `${jobs} jobs in the store`);
      const page = await context.newPage();
      const pending = new Set();
      page.on('request', (r) => pending.add(r));
      page.on('requestfinished', (r) => pending.delete(r));
      page.on('requestfailed', (r) => pending.delete(r));
      await page.goto(`${env.url}/${hash}`, { waitUntil: 'commit' });
      await ready(page);
      assert.equal(pending.size, 0, `no request pending: ${[...pending].map((r) => r.url()).join(', ')}`);
      assert.equal(await page.locator('.error-state').count(), 0, 'no error state');
      const title = (await page.textContent('#page-title')).trim();
      assert.ok(title.length > 0, 'a title');
      const text = (await page.locator('main').innerText()).trim();
      assert.ok(text.length > title.length + 20, `content under the title: ${text.slice(0, 200)}`);
      await screenshot(page, `perf-${name.toLowerCase().replace(/ /g, '-')}`, { fullPage: false });
      await page.close();
    });
  }
});
