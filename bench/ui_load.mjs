// Page-load figures of the web UI with a big fleet (bench/ui_load runs this): Dashboard, Daily
// Jobs and Run Checks, each opened fresh (a new tab, a full page load: HTML, script, style, the
// session, then the page's API calls) RUNS + 1 times in headless Chromium, until "loaded" — the
// app says ready and no request is in flight. The first load (the server's count caches cold)
// is printed apart; the target is a median under 1 s and no load over 2 s. A benchmark prints
// figures against its target; it does not fail on a slow machine (tests/browser/perf.test.mjs
// checks that the same pages load and render).

import { USERS, launchBrowser, login, newPage, ready, startEnv } from '../tests/browser/env.mjs';

const DEVICES = Number(process.env.BK_PERF_DEVICES || 10000);
const RUNS = Number(process.env.RUNS || 5);
const TARGET_MS = 1000;

const [env, browser] = await Promise.all([
  startEnv({ coveDevices: DEVICES, coveCustomers: 50, readyTimeoutMs: 300000 }),
  launchBrowser(),
]);
let over = 0;
try {
  const p = await newPage(browser);
  await login(p, env, USERS.admin);
  const context = p.context();
  await p.close();
  const jobs = (await env.admin.get('/jobs?limit=1')).total;
  console.log(`ui_load: ${jobs} jobs, median of ${RUNS} loads after a cold one; target: median <= ${TARGET_MS} ms, every load <= ${2 * TARGET_MS} ms`);
  for (const [name, hash] of [['Dashboard', '#/'], ['Daily Jobs', '#/daily'], ['Run Checks', '#/runs']]) {
    const times = [];
    let cold = 0;
    let requests = 0;
    for (let i = 0; i < RUNS + 1; i++) {
      const page = await context.newPage();
      const pending = new Set();
      let count = 0;
      page.on('request', (r) => { pending.add(r); count++; });
      page.on('requestfinished', (r) => pending.delete(r));
      page.on('requestfailed', (r) => pending.delete(r));
      await page.goto(`${env.url}/${hash}`, { waitUntil: 'commit' });
      await ready(page);
      while (pending.size) await page.waitForTimeout(10);
      const t = Math.round(await page.evaluate(() => window.__bkReadyAt));
      if (i === 0) cold = t;
      else {
        times.push(t);
        requests = count;
      }
      await page.close();
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const met = median <= TARGET_MS && Math.max(cold, ...times) <= 2 * TARGET_MS;
    if (!met) over++;
    console.log(`${name.padEnd(11)} median ${String(median).padStart(5)} ms  (${times.join(', ')} ms; first load ${cold} ms; ${requests} requests)  ${met ? 'within target' : 'OVER TARGET'}`);
  }
} finally {
  await browser.close();
  await env.stop();
}
console.log(over ? `ui_load: ${over} page(s) over the target` : 'ui_load: every page within the target');
