// The Inbox approval flow of report e-mails (issue 14) in a real browser: a `type = mail`
// source whose Maildir `backupctl serve` scans; an unknown mail waits in the Inbox page, its
// raw EML is one click away, an operator assigns it to a job, and the next mail of that
// sender and subject shape becomes a run of the job by itself (never the Inbox again).
// Saves inbox.png under $BROWSER_OUT.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient, BIN_DIR, ROOT, USERS, launchBrowser, login, newPage, ready, screenshot, startListening } from './env.mjs';

const FIX = path.join(ROOT, 'tests/fixtures/mail');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(bin, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

let dir;
let serve;
let browser;
let api;
let url;

async function waitMaildirEmpty(ms = 60000) {
  const deadline = Date.now() + ms;
  while (fs.readdirSync(path.join(dir, 'maildir/new')).length) {
    if (Date.now() > deadline) throw new Error('serve did not take the mails');
    await sleep(100);
  }
}

describe('report e-mail Inbox', { timeout: 180000 }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-inbox-'));
    for (const d of ['new', 'cur', 'tmp']) fs.mkdirSync(path.join(dir, 'maildir', d), { recursive: true });
    const conf = path.join(dir, 'backupctl.conf');
    fs.writeFileSync(conf, ['[database]', 'url = sqlite://backupctl.db', '[server]', 'listen = 127.0.0.1:0',
      '[source "mail-acme"]', 'type = mail', 'customer = Acme', 'timezone = Europe/Paris',
      'maildir = maildir', 'interval = 10s', ''].join('\n'));
    for (const u of [USERS.operator, USERS.viewer]) {
      const pw = path.join(dir, `${u.name}.pw`);
      fs.writeFileSync(pw, `${u.password}\n`, { mode: 0o600 });
      const r = await run(path.join(BIN_DIR, 'backupctl'), ['user', 'add', u.name, '--role', u.role, '--password-file', pw, '--config', conf]);
      assert.equal(r.code, 0, r.out);
    }
    for (const f of ['v1_success', 'u1_unknown']) fs.copyFileSync(path.join(FIX, `${f}.eml`), path.join(dir, 'maildir/new', f));
    [serve, browser] = await Promise.all([
      startListening('serve', path.join(BIN_DIR, 'backupctl'), ['serve', '--config', conf], dir, 30000),
      launchBrowser(),
    ]);
    url = `http://${serve.addr}`;
    await waitMaildirEmpty();
    api = await new ApiClient(url).login(USERS.operator);
  });

  after(async () => {
    if (browser) await browser.close();
    if (serve) serve.child.kill('SIGTERM');
    if (dir && process.env.BK_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an operator assigns an unknown mail to a job, and the next one needs nobody', async () => {
    const page = await newPage(browser);
    await login(page, { url }, USERS.operator);
    await page.evaluate(() => { document.documentElement.dataset.state = 'loading'; location.hash = '#/inbox'; });
    await ready(page);
    const row = page.locator('tr[data-mail]');
    assert.equal(await row.count(), 1);
    assert.match(await row.textContent(), /Nightly rsync report 2026-11-30: OK/);
    assert.match(await row.textContent(), /cron@files\.acme\.example/);
    // Download EML: the raw mail, byte for byte
    const href = await row.locator('a[download]').getAttribute('href');
    const raw = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    assert.equal(raw, fs.readFileSync(path.join(FIX, 'u1_unknown.eml'), 'utf8'));
    await screenshot(page, 'inbox');
    const job = (await api.get('/jobs?limit=100')).items.find((j) => j.name === 'DC-Daily');
    assert.ok(job, 'the Veeam mail made the job DC-Daily');
    await row.locator('select').selectOption(String(job.id));
    await page.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await row.locator('button').click();
    await ready(page);
    await page.waitForSelector('tr[data-mail]', { state: 'detached' });
    assert.equal((await api.get('/inbox')).total, 0);
    assert.deepEqual(page.problems, []);
    assert.deepEqual(page.dialogs, []);

    // the next mail of that sender and subject shape: a run of DC-Daily, no Inbox
    fs.copyFileSync(path.join(FIX, 'u2_unknown_next.eml'), path.join(dir, 'maildir/new', 'u2'));
    await waitMaildirEmpty();
    const all = await api.get('/inbox?state=all');
    const u2 = all.items.find((m) => m.message_id === 'u2@synthetic.backupctl');
    assert.equal(u2.state, 'run');
    assert.equal((await api.get('/inbox')).total, 0);
    const runs = await api.get(`/inbox?run=${u2.run_id}`);
    assert.equal(runs.total, 1);

    // the run's details offer the mail it came from (Download EML), as an attachment
    assert.equal(await page.locator('nav a[href="#/inbox"]').count(), 1, 'the Inbox is in the menu');
    await page.evaluate((id) => { document.documentElement.dataset.state = 'loading'; location.hash = `#/jobs/${id}`; }, job.id);
    await ready(page);
    await page.click(`tr[data-run="${u2.run_id}"] td.col-act button`);
    const eml = page.locator('dialog[open] a[data-action="download-eml"]');
    await eml.waitFor();
    const res = await page.evaluate(async (h) => { const r = await fetch(h); return { text: await r.text(), cd: r.headers.get('content-disposition'), ct: r.headers.get('content-type') }; }, await eml.getAttribute('href'));
    assert.equal(res.text, fs.readFileSync(path.join(FIX, 'u2_unknown_next.eml'), 'utf8'));
    assert.match(res.cd, /^attachment; filename="mail-\d+\.eml"$/);
    assert.equal(res.ct, 'message/rfc822');
    assert.deepEqual(page.problems, []);
  });
});
