// The environment the browser tests run against, started from scratch for each test file:
// cove-sim and hycu-sim on free loopback ports, a configuration with both as sources, users of
// each role, and a real `backupctl serve` on 127.0.0.1:0 — ready once every source has been
// polled. Plus the browser: Debian's chromium driven by playwright-core (never a downloaded one).
//
// Environment: BIN_DIR (default build/bin), BROWSER_OUT (screenshots, default build/browser),
// CHROMIUM (default /usr/bin/chromium), BK_KEEP=1 keeps the temporary directory.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
export const BIN_DIR = path.resolve(ROOT, process.env.BIN_DIR || 'build/bin');
export const OUT_DIR = path.resolve(ROOT, process.env.BROWSER_OUT || 'build/browser');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const PARTNER = 'Acme MSP (admin@acme.example)';
export const USERS = {
  admin: { name: 'admin', role: 'admin', password: 'admin-password-1' },
  operator: { name: 'oper', role: 'operator', password: 'operator-password-1' },
  viewer: { name: 'viewer', role: 'viewer', password: 'viewer-password-1' },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Start a program that prints "listening on HOST:PORT" as its first stdout line.
export function startListening(name, bin, args, dir, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(path.join(dir, `${name}.err`), 'w');
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', out] });
    let buf = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${name} did not print "listening on" within ${timeoutMs} ms (see ${dir}/${name}.err)`)), timeoutMs);
    function finish(err, addr) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else {
        resolve({ child, addr });
      }
    }
    child.on('error', (e) => finish(new Error(`${name}: ${e.message}`)));
    child.on('exit', (code, sig) => finish(new Error(`${name} exited (${code ?? sig}) before listening; see ${dir}/${name}.err`)));
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/^listening on (\S+)$/m);
      if (m) finish(null, m[1]);
      if (buf.length > 1 << 20) buf = buf.slice(-4096);
    });
  });
}

function run(bin, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

function writeSecret(file, text) {
  fs.writeFileSync(file, `${text}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

// A tiny API client with a cookie session (Node's fetch keeps no cookies).
export class ApiClient {
  constructor(base) {
    this.base = base;
    this.cookie = null;
    this.csrf = null;
  }

  async login(user) {
    const res = await fetch(`${this.base}/api/v1/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: user.name, password: user.password }),
    });
    if (res.status !== 200) throw new Error(`login of ${user.name}: HTTP ${res.status} ${await res.text()}`);
    const setCookie = res.headers.get('set-cookie') || '';
    this.cookie = setCookie.split(';')[0];
    this.csrf = (await res.json()).csrf_token;
    return this;
  }

  async req(method, p, body) {
    const headers = { Cookie: this.cookie };
    if (method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.base}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
    return data;
  }

  get(p) { return this.req('GET', p); }
  post(p, body) { return this.req('POST', p, body === undefined ? {} : body); }
}

// opts: coveDevices, coveCustomers, hycuBackups (run a few `backupctl backup`s so HYCU has runs).
export async function startEnv(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-browser-'));
  const procs = [];
  const env = { dir, procs };
  env.stop = async () => {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([gone, sleep(12000)]);
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
    }
    if (process.env.BK_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const b of ['backupctl', 'cove-sim', 'hycu-sim']) {
      if (!fs.existsSync(path.join(BIN_DIR, b))) throw new Error(`${BIN_DIR}/${b} is missing: build first (make), or set BIN_DIR`);
    }
    const token = `tok-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    fs.writeFileSync(path.join(dir, 'scenario.json'), JSON.stringify({
      default: { outcome: 'OK', polls: 1 },
      entities: [
        { type: 'vm', name: 'db01', outcome: 'ERROR', polls: 1, message: 'Snapshot of disk scsi0:1 failed' },
        { type: 'vm', name: 'web01', outcome: 'WARNING', polls: 1, message: '1 file skipped' },
        { type: 'vm', name: 'Daily Backup', outcome: 'OK', polls: 1 },
      ],
    }));
    const [cove, hycu] = await Promise.all([
      startListening('cove-sim', path.join(BIN_DIR, 'cove-sim'),
        ['--port', '0', '--hostile-names', '--devices', String(opts.coveDevices || 40), '--customers', String(opts.coveCustomers || 3)], dir),
      startListening('hycu-sim', path.join(BIN_DIR, 'hycu-sim'),
        ['--port', '0', '--token', token, '--devices', '6', '--scenario', 'scenario.json'], dir),
    ]);
    procs.push(cove.child, hycu.child);
    env.coveUrl = `http://${cove.addr}`;
    env.hycuUrl = `http://${hycu.addr}`;

    writeSecret(path.join(dir, 'cove.secret'), 'sim-password');
    writeSecret(path.join(dir, 'hycu.token'), token);
    const conf = path.join(dir, 'backupctl.conf');
    // Long intervals: the first poll at start-up is the only one, so the data stay put while a
    // test reviews them.
    fs.writeFileSync(conf, [
      '[database]', 'url = sqlite://backupctl.db',
      '[server]', 'listen = 127.0.0.1:0',
      '[source "cove-msp"]', 'type = cove', `url = ${env.coveUrl}/jsonapi`, `partner = ${PARTNER}`,
      'username = backupctl-api', `password_file = ${dir}/cove.secret`, 'interval = 1d', 'page_size = 1000',
      '[source "hycu-lab"]', 'type = hycu', `url = ${env.hycuUrl}`, `token_file = ${dir}/hycu.token`,
      'customer = Lab Corp', 'interval = 1d',
      // Jobs that report their own runs (push check-ins, issue 14): never polled.
      '[source "scripts"]', 'type = push', 'customer = Lab Corp',
      // Alerts (issue 10) to a receiver that is not there: deliveries stay pending with an error.
      '[alert "ops"]', 'webhook = http://127.0.0.1:9/hook', '',
    ].join('\n'));
    env.conf = conf;

    const bk = path.join(BIN_DIR, 'backupctl');
    for (const u of Object.values(USERS)) {
      const pw = path.join(dir, `${u.name}.pw`);
      writeSecret(pw, u.password);
      const r = await run(bk, ['user', 'add', u.name, '--role', u.role, '--password-file', pw, '--config', conf]);
      if (r.code !== 0) throw new Error(`backupctl user add ${u.name}: ${r.out}`);
    }
    // Scheduler-style backups, so HYCU has runs (one failed, one warning) before the first poll.
    if (opts.hycuBackups !== false) {
      await Promise.all(['db01', 'web01', 'Daily Backup'].map((name) => run(bk,
        ['backup', '--backup-name', name, '--target-type', 'vm', '--check-interval', '0.05'],
        { env: { ...process.env, HYCU_URL: env.hycuUrl, HYCU_AUTH_TOKEN: token } })));
    }

    const serve = await startListening('serve', bk, ['serve', '--config', conf], dir, 30000);
    procs.push(serve.child);
    env.url = `http://${serve.addr}`;

    // Ready when every polled source (push sources never are) has a finished poll.
    env.admin = await new ApiClient(env.url).login(USERS.admin);
    const deadline = Date.now() + (opts.readyTimeoutMs || 120000);
    for (;;) {
      const s = await env.admin.get('/sources');
      const vendor = s.items.filter((x) => x.kind !== 'push');
      const polled = vendor.filter((x) => x.last_poll && x.last_poll.finished_at);
      if (vendor.length >= 2 && polled.length === vendor.length) {
        env.sources = s.items;
        break;
      }
      if (Date.now() > deadline) throw new Error(`sources not polled in time: ${JSON.stringify(s.items)}`);
      await sleep(100);
    }
    return env;
  } catch (e) {
    await env.stop();
    throw e;
  }
}

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/browser-deps (installs Debian's chromium)`);
  // Playwright gives every launch a fresh temporary profile (--user-data-dir) of its own and
  // refuses one in args.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page that records what a test must never see: a JavaScript dialog (alert from injected
// markup), an uncaught error, or a Content-Security-Policy violation.
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, ...opts });
  const page = await context.newPage();
  page.problems = [];
  page.dialogs = [];
  page.on('dialog', (d) => {
    page.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy/i.test(t)) page.problems.push(`CSP: ${t}`);
    else if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|403)/.test(t)) page.problems.push(`console: ${t}`);
  });
  return page;
}

export async function ready(page) {
  await page.waitForSelector('html[data-state="ready"]', { state: 'attached', timeout: 20000 });
}

// Go to a route of the app (a hash) and wait until its data are on the page.
export async function goto(page, env, hash) {
  const cur = page.url();
  if (!cur.startsWith(env.url)) {
    await page.goto(`${env.url}/${hash}`);
  } else if (cur === `${env.url}/${hash}`) {
    await page.reload();
  } else {
    await page.evaluate(() => { document.documentElement.dataset.state = 'loading'; });
    await page.evaluate((h) => { location.hash = h; }, hash);
  }
  await ready(page);
}

export async function login(page, env, user) {
  await page.goto(`${env.url}/`);
  await ready(page);
  await page.fill('input[name="username"]', user.name);
  await page.fill('input[name="password"]', user.password);
  await page.click('form.login button[type="submit"]');
  await page.waitForSelector('#userbox .who-name');
  await ready(page);
}

export async function screenshot(page, name, opts = {}) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.fullPage !== false });
  return file;
}
