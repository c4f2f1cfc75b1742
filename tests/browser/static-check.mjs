// Static checks of the web UI's files, before any browser starts: each script parses (two merged
// branches once declared one function twice, which blanked the whole UI), and app.css has its
// braces balanced outside comments and strings (a lost '}' once put every later rule inside a
// 390 px @media block). Exit 1 with one line per problem.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'static');
let bad = 0;
const tmp = mkdtempSync(join(tmpdir(), 'static-check-'));
for (const f of ['app.js', 'pattern.js']) {
  const copy = join(tmp, f.replace(/\.js$/, '.mjs'));
  writeFileSync(copy, readFileSync(join(dir, f)));
  try {
    execFileSync(process.execPath, ['--check', copy], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    console.error(`web/static/${f}: does not parse: ${String(e.stderr).split('\n').find((l) => /Error/.test(l)) || 'syntax error'}`);
    bad++;
  }
}
rmSync(tmp, { recursive: true, force: true });
const css = readFileSync(join(dir, 'app.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
let depth = 0, line = 1;
for (const ch of css) {
  if (ch === '\n') line++;
  else if (ch === '{') depth++;
  else if (ch === '}' && --depth < 0) { console.error(`web/static/app.css: '}' without '{' near line ${line}`); bad++; depth = 0; }
}
if (depth) { console.error(`web/static/app.css: ${depth} block(s) not closed at the end`); bad++; }
process.exit(bad ? 1 : 0);
