/**
 * Real Debian, end to end: lock a small set from the host's configured mirror, fetch and build
 * it twice with separate caches under a perturbed environment, then offline; the digests agree.
 * The image runs under runc (busybox through the merged-/usr loader, the account database and the
 * CA hash links), and dpkg-query reads the database we wrote.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';

const SPEC = `name: real-debian-test
source:
  distro: debian
  suite: bookworm
  components: [main]
  architecture: amd64
packages: [base-files, base-passwd, busybox, ca-certificates, usr-is-merged]
config:
  entrypoint: [/usr/bin/busybox]
  env: {PATH: /usr/sbin:/usr/bin:/sbin:/bin}
`;

let dir: string;
let spec: string;
const digests: string[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'real-debian-'));
  spec = join(dir, 'image.yaml');
  writeFileSync(spec, SPEC);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: NodeJS.ProcessEnv = {}, umask?: string): string {
  const r = runCli(args, { env: { SOURCE_DATE_EPOCH: undefined, ...env }, ...(umask ? { umask } : {}) });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

test('lock, fetch and build from the host mirror; a second cache and an offline build give the same digest', { timeout: 300_000 }, () => {
  const cacheA = join(dir, 'cache-a');
  const cacheB = join(dir, 'cache-b');
  cli(['lock', spec], { XDG_CACHE_HOME: cacheA });
  const lock = JSON.parse(readFileSync(join(dir, 'image.lock.json'), 'utf8')) as { packages: Array<{ name: string }>; source: { sourceDateEpoch: number } };
  assert.ok(lock.packages.some((p) => p.name === 'libc6'), 'busybox pulls in libc6');
  cli(['fetch', spec], { XDG_CACHE_HOME: cacheA });
  digests.push(cli(['build', spec, '--output', `oci:${join(dir, 'a')}:t`], { XDG_CACHE_HOME: cacheA, TZ: 'America/St_Johns', LANG: 'C' }, '077'));
  digests.push(cli(['build', spec, '--output', `oci:${join(dir, 'b')}:t`], { XDG_CACHE_HOME: cacheB, TZ: 'Asia/Kolkata', LC_ALL: 'tr_TR.UTF-8', UV_THREADPOOL_SIZE: '1' }, '022'));
  digests.push(cli(['build', spec, '--offline', '--output', `oci:${join(dir, 'c')}:t`], { XDG_CACHE_HOME: cacheB }));
  assert.match(digests[0]!, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(digests, [digests[0], digests[0], digests[0]]);
  // Offline with an empty cache fails cleanly, naming the fix.
  const r = runCli(['build', spec, '--offline', '--output', `oci:${join(dir, 'd')}:t`], { env: { XDG_CACHE_HOME: join(dir, 'empty') } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not in the cache .*run 'repro-image fetch' first/);
});

test('the image runs busybox under runc, and dpkg-query reads its database', { timeout: 120_000 }, () => {
  assert.ok(digests.length > 0, 'needs the build of the previous test');
  const bundle = join(dir, 'bundle');
  const u = spawnSync('umoci', ['unpack', '--image', `${join(dir, 'a')}:t`, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  const rootfs = join(bundle, 'rootfs');

  const q = spawnSync('dpkg-query', [`--admindir=${rootfs}/var/lib/dpkg`, '-W', '-f', '${Package} ${Version} ${db:Status-Abbrev}\\n'], { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  const lock = JSON.parse(readFileSync(join(dir, 'image.lock.json'), 'utf8')) as { packages: Array<{ name: string; version: string }> };
  const listed = q.stdout.trim().split('\n').map((l) => l.trim());
  assert.deepEqual(listed, lock.packages.map((p) => `${p.name} ${p.version} ii`));
  // The usual top level, and nothing else (a stray entry here once came from a parent-path slip).
  assert.deepEqual(readdirSync(rootfs).sort(), ['bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib64', 'media', 'mnt', 'opt', 'proc', 'root', 'run', 'sbin', 'srv', 'sys', 'tmp', 'usr', 'var']);
  // base-files' first-configure effects.
  const probe = spawnSync('sh', ['-c', 'cd "$0" && readlink var/run var/lock var/spool/mail etc/dpkg/origins/default && stat -c "%a %g" var/mail run/lock && test -s etc/profile && test -s root/.profile && test -d usr/local/bin', rootfs], { encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
  assert.deepEqual(probe.stdout.trim().split('\n'), ['/run', '/run/lock', '../mail', 'debian', '2775 8', '1777 0']);
  const files = spawnSync('dpkg-query', [`--admindir=${rootfs}/var/lib/dpkg`, '-L', 'busybox'], { encoding: 'utf8' });
  assert.match(files.stdout, /^\/bin\/busybox$/m);

  // Our hash links agree with OpenSSL's own subject hash for every certificate.
  const check = spawnSync('sh', ['-c', `cd "$0/etc/ssl/certs" && n=0 && for l in *.[0-9]; do
      crt="$0$(readlink "$(readlink "$l")")"; [ -f "$crt" ] || { echo "dangling $l"; exit 2; }
      h=$(openssl x509 -noout -subject_hash -in "$crt") || exit 3
      [ "$h" = "\${l%.*}" ] || { echo "mismatch $l $h"; exit 1; }; n=$((n+1)); done; echo $n`, rootfs], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.ok(Number(check.stdout.trim()) > 100, check.stdout);

  const configPath = join(bundle, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { process: { terminal?: boolean; args?: string[] } };
  config.process.terminal = false;
  config.process.args = ['busybox', 'sh', '-c', 'busybox id && busybox ls /etc/ssl/certs | busybox wc -l'];
  writeFileSync(configPath, JSON.stringify(config));
  const id = `repro-image-debian-${process.pid}`;
  try {
    const r = spawnSync('runc', ['run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    assert.equal(r.status, 0, `runc run: ${r.stderr}`);
    const [idLine, count] = r.stdout.trim().split('\n');
    assert.match(idLine ?? '', /^uid=0\(root\) gid=0\(root\)/);
    // Every certificate has a NAME.pem link and at least one HASH.0 link, plus the bundle.
    assert.ok(Number(count) > 250, `only ${count} entries in /etc/ssl/certs`);
  } finally {
    spawnSync('runc', ['delete', '-f', id], { encoding: 'utf8', timeout: 30_000 });
  }
});
