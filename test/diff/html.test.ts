/**
 * The HTML report in a real browser: Debian's chromium, headless, renders the page from a file and
 * the rendered DOM shows the verdict, every finding, the tree down to the file and the content diff.
 * The page is self-contained: no URL to fetch, and a policy that forbids fetching.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { runCli } from '../helpers/cli.js';
import { writeLayout } from './images.js';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'diff-html-')); });
after(() => rmSync(work, { recursive: true, force: true }));

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu',
  // No traffic of its own: background networking, updates, sync, metrics and first-run work off.
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
  '--disable-extensions', '--no-first-run', '--metrics-recording-only', '--disable-domain-reliability',
];

function chromium(): string | undefined {
  for (const c of ['chromium', 'chromium-browser']) if (spawnSync('sh', ['-c', 'command -v "$0"', c]).status === 0) return c;
  return undefined;
}

const A: RawMember[] = [
  { name: 'etc/', type: 'dir' },
  { name: 'etc/os-release', data: 'NAME=Test\nVERSION=1\nID=test\n' },
  { name: 'usr/bin/tool', data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]) },
];
const B: RawMember[] = [
  { name: 'etc/', type: 'dir', mtime: 1700000999 },
  { name: 'etc/os-release', data: 'NAME=Test\nVERSION=2 <beta> & "more"\nID=test\n' },
  { name: 'usr/bin/tool', data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 9, 3]), uid: 1000 },
];

test('headless chromium renders the report with its findings, tree and content diff', (t) => {
  const browser = chromium();
  if (!browser) { t.skip('chromium is not installed (apt-get install chromium)'); return; }
  const a = writeLayout(join(work, 'a'), { layers: [{ tar: makeTar(A) }] });
  const b = writeLayout(join(work, 'b'), { layers: [{ tar: makeTar(B) }] });
  const page = join(work, 'report.html');
  const json = runCli(['diff', a, b, '--html', page, '--format', 'json']);
  assert.equal(json.status, 1, json.stderr);
  const report = JSON.parse(json.stdout) as { findings: Array<{ title: string }> };
  const html = readFileSync(page, 'utf8');
  assert.doesNotMatch(html, /\bsrc=|href="(?!#)|url\(|@import/i, 'the page refers to nothing outside itself (links are to its own anchors)');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/=]+'">/);

  const r = spawnSync(browser, [...CHROMIUM_FLAGS, `--user-data-dir=${join(work, 'profile')}`, '--dump-dom', pathToFileURL(page).href], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `chromium failed: ${r.stderr}`);
  const dom = r.stdout;
  const text = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  assert.match(dom, /<span class="verdict different" id="verdict">Different: 4 differences in 3 findings<\/span>/);
  const findings = /<section id="findings">([\s\S]*?)<\/section>/.exec(dom)?.[1] ?? '';
  assert.equal(report.findings.length, 3);
  for (const f of report.findings) assert.ok(findings.includes(text(f.title)), `finding shown: ${f.title}`);
  assert.match(findings, /mtime newer than SOURCE_DATE_EPOCH on 1 entry/);
  const tree = /<section id="tree">([\s\S]*?)<\/section>/.exec(dom)?.[1] ?? '';
  assert.match(tree, /<summary><span class="mono">os-release<\/span>/);
  assert.ok(tree.includes(`<span class="add">${text('+VERSION=2 <beta> & "more"')}</span>`), 'the added line, escaped');
  assert.ok(tree.includes('<span class="del">-VERSION=1</span>'));
  // The first differing byte is marked in both sides of the hex view.
  assert.match(tree, /00000000 {2}7f 45 4c 46 00 01 <mark class="first">09<\/mark> 03/);
  assert.match(tree, /00000000 {2}7f 45 4c 46 00 01 <mark class="first">02<\/mark> 03/);
});
