import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/spec/load.js';
import { jsonSchema } from '../../src/spec/schema.js';
import { readLock, specDigest } from '../../src/spec/lockfile.js';
import { mirrorsFor, parseDeb822Sources, parseOneLineSources } from '../../src/sources/debian/mirrors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

test('every problem in a spec is reported at once, each with its line and column', () => {
  const text = 'name: Bad Name\nsource:\n  distro: debian\n  suit: bookworm\npackages: [busybox, 3]\ncolour: red\nconfig:\n  workdir: relative\nfiles:\n  - src: a\n';
  assert.throws(() => parseSpec(text, 'image.yaml'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_SPEC');
    const lines = e.message.split('\n').slice(1).map((l) => l.trim());
    assert.deepEqual(lines.map((l) => l.split(': ')[0]), ['image.yaml:1:7', 'image.yaml:3:3', 'image.yaml:4:3', 'image.yaml:5:21', 'image.yaml:6:1', 'image.yaml:8:12', 'image.yaml:10:5']);
    assert.match(e.message, /source\.suit: unknown key/);
    assert.match(e.message, /source\.suite: required/);
    assert.match(e.message, /colour: unknown key/);
    assert.match(e.message, /files\[0\]\.dest: required/);
    return true;
  });
  assert.throws(() => parseSpec('name: [unclosed\n', 'broken.yaml'), /broken\.yaml:\d+:\d+: /);
});

test('defaults, and the digest covers only what decides the lock', () => {
  const a = parseSpec('name: x\nsource: {distro: debian, suite: bookworm}\npackages: [busybox]\n', 'a.yaml');
  assert.ok(a.source.distro === 'debian');
  assert.deepEqual(a.source.components, ['main']);
  assert.equal(a.source.architecture, 'amd64');
  assert.equal(a.compression, 'gzip');
  const b = parseSpec('name: y\nsource: {distro: debian, suite: bookworm, mirrors: ["http://127.0.0.1/debian"]}\npackages: [busybox]\nconfig: {cmd: [sh]}\n', 'b.yaml');
  assert.equal(specDigest(a), specDigest(b), 'name, mirrors and config do not change the lock');
  const c = parseSpec('name: x\nsource: {distro: debian, suite: bookworm}\npackages: [busybox, dash]\n', 'c.yaml');
  assert.notEqual(specDigest(a), specDigest(c));
});

test('the shipped JSON Schema is the one the definition generates, and the example validates', () => {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'docs/image-spec.schema.json'), 'utf8')) as unknown;
  assert.deepEqual(shipped, jsonSchema());
  parseSpec(readFileSync(join(ROOT, 'examples/debian-minimal/image.yaml'), 'utf8'), 'examples/debian-minimal/image.yaml');
  const multi = parseSpec(readFileSync(join(ROOT, 'examples/debian-minimal/multiarch.yaml'), 'utf8'), 'examples/debian-minimal/multiarch.yaml');
  assert.deepEqual((multi.source as { architectures?: string[] }).architectures, ['amd64', 'arm64']);
});

test('the example\'s committed locks are current for their specs (a spec edited without locking again fails here)', () => {
  for (const [spec, lock, packages] of [['image.yaml', 'image.lock.json', 15], ['multiarch.yaml', 'multiarch.lock.json', 27]] as const) {
    const dir = join(ROOT, 'examples/debian-minimal');
    const parsed = parseSpec(readFileSync(join(dir, spec), 'utf8'), spec);
    const l = readLock(join(dir, lock)) as unknown as { specDigest: string; packages: unknown[]; architectures?: Array<{ architecture: string; packages: string[] }> };
    assert.equal(l.specDigest, specDigest(parsed), `${lock} was made from ${spec} as it is`);
    assert.equal(l.packages.length, packages, lock);
    if (spec === 'multiarch.yaml') assert.deepEqual(l.architectures?.map((a) => `${a.architecture}: ${a.packages.length}`), ['amd64: 15', 'arm64: 15']);
  }
});

test('host apt sources: deb822 and one-line files, disabled entries skipped, the suite first', () => {
  const deb822 = parseDeb822Sources('Types: deb deb-src\nURIs: http://m1/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://sec/debian-security\nSuites: bookworm-security\n\nTypes: deb\nEnabled: no\nURIs: http://off/debian\nSuites: bookworm\n', 'x.sources');
  const oneLine = parseOneLineSources('# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m2/debian trixie main\ndeb-src http://src/debian bookworm main\n');
  assert.deepEqual(mirrorsFor([...oneLine, ...deb822], 'bookworm'), ['http://m1/debian', 'http://m2/debian']);
  assert.deepEqual(mirrorsFor([...oneLine, ...deb822], 'trixie'), ['http://m2/debian', 'http://m1/debian']);
  assert.deepEqual(mirrorsFor([...oneLine, ...deb822], 'bookworm-security'), ['http://sec/debian-security'], 'a security suite is looked for in security archives only');
});

test('the digest covers base.remove as a set: order, repeats and slashes do not change it; a spec already in that form keeps its digest', () => {
  const spec = (remove: string): ReturnType<typeof parseSpec> => parseSpec(`name: x\nsource: {distro: debian, suite: bookworm}\npackages: [busybox]\nbase: {image: "oci:/b:@sha256:${'0'.repeat(64)}", remove: ${remove}}\n`, 'a.yaml');
  const canonical = spec('[/etc/a, /etc/b, /usr/share/doc]');
  assert.equal(specDigest(spec('[/usr/share/doc, /etc/b, /etc/a]')), specDigest(canonical));
  assert.equal(specDigest(spec('[/etc/b, /usr/share/doc/, /etc/a, /etc/b]')), specDigest(canonical));
  assert.notEqual(specDigest(spec('[/etc/a, /usr/share/doc]')), specDigest(canonical));
  // Byte order (code points), not UTF-16 units: U+FF5E before U+1F600.
  assert.equal(specDigest(spec('["/\u{1F600}", "/\u{FF5E}"]')), specDigest(spec('["/\u{FF5E}", "/\u{1F600}"]')));
  // The digest of a spec whose remove is sorted, unique and plainly spelled is what it was (locks stay valid).
  assert.equal(specDigest(spec('[/etc/old.conf]')), 'sha256:3d9060f1b29247087947b4748d74238ef75b68998892580b3fd6e577d12dfee1');
});
