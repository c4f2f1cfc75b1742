// The alert e-mail's HTML part in a real browser (Debian's chromium): `backupctl alert test`
// sends through a real SMTP server (tests/integration/smtp_sink.py: STARTTLS + AUTH, a
// certificate made for this run), the text/html part is taken out of the delivered message
// and rendered. Vendor text that looks like HTML must show as text and run nothing.
// Saves a screenshot alert-mail.png under $BROWSER_OUT (default build/browser; the README's
// is docs/screenshots/alert-mail.png: BROWSER_OUT=docs/screenshots).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN_DIR, ROOT, launchBrowser, newPage, screenshot, startListening } from './env.mjs';

const PY = '/usr/bin/python3'; // Debian's, where python3-aiosmtpd is (scripts/deps --test)
const HOSTILE = 'Vendor said: <img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script> & "done"';

function run(bin, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

// The decoded text/html part of a message file, through Python's email module.
const HTML_PART = `
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
assert m.get_content_type() == "multipart/alternative", m.get_content_type()
sys.stdout.write(m.get_body(preferencelist=("html",)).get_content())
`;

let dir;
let sink;
let browser;

describe('alert e-mail', { timeout: 120000 }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bk-mail-'));
    const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
    assert.equal(r.code, 0, `openssl: ${r.err}`);
    const pw = `pw-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    fs.writeFileSync(path.join(dir, 'smtp.secret'), `${pw}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(dir, 'mail'));
    [sink, browser] = await Promise.all([
      startListening('smtp-sink', path.join(ROOT, 'tests/integration/smtp_sink.py'),
        ['--port', '0', '--dir', path.join(dir, 'mail'), '--cert', path.join(dir, 'cert.pem'),
          '--key', path.join(dir, 'key.pem'), '--user', 'alerts', '--password-file', path.join(dir, 'smtp.secret')], dir),
      launchBrowser(),
    ]);
  });

  after(async () => {
    if (browser) await browser.close();
    if (sink) sink.child.kill('SIGTERM');
    if (dir && process.env.BK_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the HTML part shows the title, the status, the link and hostile text as text', async () => {
    const conf = path.join(dir, 'backupctl.conf');
    fs.writeFileSync(conf, [
      '[database]', 'url = sqlite://backupctl.db',
      '[server]', 'public_url = https://backup.example/',
      '[alert "ops"]', 'email = ops@example.com', `smtp = smtp://${sink.addr}`,
      'from = backupctl@mon.example', 'smtp_username = alerts',
      `smtp_password_file = ${path.join(dir, 'smtp.secret')}`, `ca_file = ${path.join(dir, 'cert.pem')}`, '',
    ].join('\n'));
    const r = await run(path.join(BIN_DIR, 'backupctl'), ['alert', 'test', 'ops', '--config', conf, '--message', HOSTILE]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out, 'email ops@example.com: sent (250)\n');
    const eml = path.join(dir, 'mail', '1.eml');
    const py = await run(PY, ['-c', HTML_PART, eml]);
    assert.equal(py.code, 0, py.err);
    const html = py.out;
    assert.ok(!html.includes('<img') && !html.includes('<script'), 'no markup from the message text');

    const p = await newPage(browser, { viewport: { width: 760, height: 600 }, javaScriptEnabled: true });
    await p.setContent(html, { waitUntil: 'load' });
    assert.equal(await p.title(), 'backupctl test alert (ops)');
    await p.getByRole('heading', { name: 'backupctl test alert (ops)' }).waitFor();
    // the hostile text is on the page, character for character, as text
    const body = await p.locator('body').innerText();
    assert.ok(body.includes(HOSTILE), `the message text is shown as text: ${body}`);
    assert.equal(await p.locator('img, script').count(), 0, 'no element came from the text');
    assert.equal(await p.evaluate(() => window.__pwned), undefined, 'no script ran');
    assert.deepEqual(p.dialogs, []);
    assert.deepEqual(p.problems, []);
    const link = p.getByRole('link', { name: 'Open the job' });
    assert.equal(await link.getAttribute('href'), 'https://backup.example/');
    await p.getByText('test', { exact: true }).waitFor(); // the status badge
    await screenshot(p, 'alert-mail');
    await p.context().close();
  });
});
