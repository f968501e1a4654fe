/**
 * The HTML report on a large real pair, in Debian's headless chromium driven over the DevTools
 * protocol: a Debian bookworm minbase root filesystem (mmdebstrap --variant=minbase, made once and
 * cached under the user cache dir) against the same tree with every file time changed and two
 * files changed (a text file and one byte of a binary). The page must be navigable: the header
 * names the tool and both references; the filter shows the two content differences out of
 * thousands; a finding's example link opens the entry's folds; expand/collapse all work; the hex
 * view marks the first differing byte. Screenshots of the default and the filtered view are taken
 * (kept when REPRO_IMAGE_SCREENSHOTS names a directory) and checked to be real pictures.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Browser, chromiumPath, pngSize } from '../helpers/chromium.js';
import { CLI } from '../helpers/cli.js';

const ROOT = join(fileURLToPath(import.meta.url), '../../../..');
const EPOCH = '1700000000';
let work: string;
let tarball: string;
let tree: string;

/** The minbase tarball, made by mmdebstrap once (about 170 MB, 8,700 entries) and kept in the cache. */
function minbase(): string {
  const dir = join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'repro-image-test');
  const file = join(dir, `minbase-bookworm-${EPOCH}.tar`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  // mmdebstrap chooses the output format by the name's extension: the temporary name ends in .tar.
  const tmp = join(dir, `.minbase-${process.pid}.tar`);
  const r = spawnSync('mmdebstrap', ['--quiet', '--variant=minbase', '--mode=root', 'bookworm', tmp], {
    encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH }, timeout: 900_000,
  });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`mmdebstrap (apt-get install mmdebstrap; needs root and the Debian mirror) failed: ${r.error?.message ?? r.stderr.slice(-2000)}`);
  }
  renameSync(tmp, file);
  return file;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'diff-html-large-'));
  tarball = minbase();
  // B: the same tree with every time changed, a text file and one byte of a binary changed.
  tree = join(work, 'changed');
  mkdirSync(tree);
  execFileSync('tar', ['-xf', tarball, '-C', tree, '--numeric-owner', '--same-permissions']);
  writeFileSync(join(tree, 'etc/debian_version'), '12.99\n');
  const bin = join(tree, 'usr/bin/true');
  const bytes = readFileSync(bin);
  bytes[0x1234] = bytes[0x1234]! ^ 0xff;
  writeFileSync(bin, bytes);
  execFileSync('find', [tree, '-exec', 'touch', '-h', '-d', '@1600000000', '{}', '+']);
});

after(() => rmSync(work, { recursive: true, force: true }));

interface Report { differences: Array<{ finding: string; location: { path?: string }; content?: { firstDifference?: number } }>; findings: Array<{ id: string; count: number }> }

test('a minbase rootfs against itself with every mtime and two files changed: the report is navigable', async (t) => {
  const browserPath = chromiumPath();
  assert.ok(browserPath, 'chromium is not installed (apt-get install chromium)');
  const page = join(work, 'report.html');
  const started = process.hrtime.bigint();
  // The JSON report is megabytes: more than runCli's default buffer.
  const r = spawnSync(process.execPath, [CLI, 'diff', tarball, tree, '--html', page, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const diffMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  const content = report.findings.find((f) => f.id === 'content')!;
  assert.equal(content.count, 2);
  const total = report.differences.length;
  assert.ok(total > 8000, `every entry's time differs: ${total} differences`);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  const b = await Browser.launch(browserPath, 1400, 1000);
  try {
    const t0 = process.hrtime.bigint();
    await b.open(pathToFileURL(page).href);
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // Header: the tool with its version, both references.
    assert.equal(await b.eval<string>(`document.getElementById('tool').textContent`), `repro-image ${version}`);
    const sides = await b.eval<string>(`document.querySelector('table.sides').textContent`);
    assert.ok(sides.includes(tarball) && sides.includes(tree), sides);
    assert.equal(await b.eval<boolean>(`document.getElementById('controls').hidden`), false, 'the script ran (its hash is in the CSP)');
    assert.equal(await b.eval<string>(`document.getElementById('shown').textContent`), `${total} differences`);
    const full = await b.screenshot();

    // Filter by finding: only the two content differences remain, their folds open.
    await b.eval(`(() => { const s = document.getElementById('filter'); s.value = 'content'; s.dispatchEvent(new Event('change')); return new Promise((r) => setTimeout(r, 300)); })()`);
    assert.equal(await b.eval<string>(`location.hash`), '#finding=content');
    assert.equal(await b.eval<string>(`document.getElementById('shown').textContent`), `2 of ${total} differences shown`);
    const visible = await b.eval<string[]>(`Array.from(document.querySelectorAll('.diff-row')).filter((r) => !r.hidden && r.offsetParent !== null).map((r) => r.dataset.finding)`);
    assert.deepEqual(visible, ['content', 'content']);
    // The first differing byte of the binary, marked on both sides of the hex view, in view.
    const marks = await b.eval<string[]>(`Array.from(document.querySelectorAll('pre.hex mark.first')).map((m) => m.textContent)`);
    const byte = readFileSync(join(tree, 'usr/bin/true'))[0x1234]!.toString(16).padStart(2, '0');
    assert.ok(marks.includes(byte) && marks.includes((Number.parseInt(byte, 16) ^ 0xff).toString(16).padStart(2, '0')), marks.join(' '));
    assert.equal(report.differences.find((d) => d.location.path === 'usr/bin/true')?.content?.firstDifference, 0x1234);
    await b.eval(`document.querySelector('pre.hex mark.first').scrollIntoView({ block: 'center' })`);
    const filtered = await b.screenshot();

    // Back to everything; a finding's example link opens the folds down to its entry.
    await b.eval(`(() => { location.hash = 'finding='; return new Promise((r) => setTimeout(r, 300)); })()`);
    assert.equal(await b.eval<string>(`document.getElementById('shown').textContent`), `${total} differences`);
    const deep = report.differences.findIndex((d) => d.finding === 'mtime' && (d.location.path ?? '').split('/').length >= 5);
    assert.ok(deep >= 0);
    await b.eval(`(() => { location.hash = 'd-${deep}'; return new Promise((r) => setTimeout(r, 300)); })()`);
    assert.equal(await b.eval<boolean>(`(() => { const el = document.getElementById('d-${deep}'); const r = el.getBoundingClientRect(); return el.offsetParent !== null && r.top >= 0 && r.bottom <= innerHeight; })()`), true, 'the entry is shown and in view');
    // The findings table links to entries that exist.
    const links = await b.eval<string[]>(`Array.from(document.querySelectorAll('#findings a[href^="#d-"]')).map((a) => a.getAttribute('href'))`);
    assert.ok(links.length >= 5);
    assert.equal(await b.eval<number>(`${JSON.stringify(links)}.filter((h) => !document.getElementById(h.slice(1))).length`), 0);

    // Expand all, collapse all.
    const count = `document.querySelectorAll('#tree details').length`;
    const open = `document.querySelectorAll('#tree details[open]').length`;
    await b.eval(`document.getElementById('expand').click()`);
    assert.equal(await b.eval<number>(open), await b.eval<number>(count));
    await b.eval(`document.getElementById('collapse').click()`);
    assert.equal(await b.eval<number>(open), 0);

    for (const png of [full, filtered]) {
      const { width, height } = pngSize(png);
      assert.deepEqual([width, height], [1400, 1000]);
      assert.ok(png.length > 30_000, `a real picture, not a blank page (${png.length} bytes)`);
    }
    const keep = process.env['REPRO_IMAGE_SCREENSHOTS'];
    if (keep) {
      mkdirSync(keep, { recursive: true });
      writeFileSync(join(keep, 'diff-report.png'), full);
      writeFileSync(join(keep, 'diff-report-filtered.png'), filtered);
    }
    const html = readFileSync(page);
    t.diagnostic(`large report: ${total} differences, ${html.length} bytes of HTML, diff ${diffMs.toFixed(0)} ms, page load ${loadMs.toFixed(0)} ms`);
  } finally {
    await b.close();
  }
});
