#!/usr/bin/env node
// verify-podman: how long, and in how much memory, does it take to prove that a podman-built image
// is what its Containerfile and inputs give — ours against archlinux-docker's REPRO.md procedure?
//
// The image: the Arch Linux Dockerfile.repro shape over a Debian bookworm root (~145 MB; the
// `arch-like` shape of test/helpers/podman-contexts.ts, which needs REPRO_DEBIAN_ROOTFS from
// .ci/debian-rootfs.sh), built with podman 5.8 (.ci/podman-root.sh) and pushed to Debian's
// docker-registry on 127.0.0.1 — the published image.
//
// Measured, RUNS times each (default 3), alternating which goes first:
//   ours    repro-image verify --containerfile Containerfile --compat podman --against docker://REG/…
//           (rebuild: stages, RUN under runc, layers; fetch the published manifest, config and layers;
//           prove the content and the digest); the base image's tree comes from the store of
//           unpacked images (filled by one untimed run first, as podman's setup build fills its store),
//           the stage trees are in a scratch tmpfs (--scratch memory, the default)
//   ours, on disk    the same with --scratch disk (the stage trees in the temp dir)
//   ours, neither    the same with --scratch disk --no-unpacked-cache (the base's files written in each run)
//   podman  REPRO.md: podman build --no-cache --source-date-epoch … --rewrite-timestamp, then
//           podman pull of the published image, then podman inspect --format {{.Digest}} of both
// Before each procedure: sync(1) and a second's pause, untimed, so that no procedure pays for the
// write-back of the one before. Both start from the Debian base image already at hand (ours: an oci: layout we built; podman: its
// store). Wall seconds and peak RSS (GNU time's %M: the largest process of the run) per step;
// podman's procedure sums the wall time of its three commands and takes the largest peak.
//
// Usage: bench/verify-podman.mjs   (env: RUNS=3; REPRO_PODMAN_ROOT and REPRO_DEBIAN_ROOTFS are
// made with the .ci scripts when unset). Needs root. The table is printed and saved to
// bench/results/verify-podman.txt (git-ignored).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const RUNS = Number(process.env.RUNS ?? 3);
const EPOCH = '1700000000';

process.env.REPRO_PODMAN_ROOT ||= execFileSync(join(REPO, '.ci/podman-root.sh'), { encoding: 'utf8' }).trim();
process.env.REPRO_DEBIAN_ROOTFS ||= execFileSync(join(REPO, '.ci/debian-rootfs.sh'), { encoding: 'utf8' }).trim();
const { GT_BASE_IMAGE, writeContext } = await import(join(REPO, 'dist/test/helpers/podman-contexts.js'));

const work = mkdtempSync('/tmp/bench-verify-podman-');
// Where both keep their files: podman's store, our cache and our temp dir (SCRATCH=/dev/shm: in
// memory, where making a file costs a tenth of what it costs on this machine's ext4).
const SCRATCH = process.env.SCRATCH ?? '/var/tmp';
const store = mkdtempSync(join(SCRATCH, 'bench-verify-podman-store-'));
const ourCache = mkdtempSync(join(SCRATCH, 'bench-verify-podman-cache-'));
const ourTmp = mkdtempSync(join(SCRATCH, 'bench-verify-podman-tmp-'));
const ourEnv = { ...process.env, XDG_CACHE_HOME: ourCache, TMPDIR: ourTmp };
const podmanEnv = { ...process.env, REPRO_PODMAN_DRIVER: 'overlay', REPRO_PODMAN_STORAGE: store, REPRO_PODMAN_RUNROOT: join(store, 'run') };

function timed(cmd, args, env = process.env) {
  const out = join(work, 'time.out');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', out, cmd, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
  const [wall, kib] = readFileSync(out, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, mib: kib / 1024, stdout: r.stdout };
}
const podman = (...args) => timed(join(REPO, '.ci/podman'), args, podmanEnv);
const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); }); });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The registry.
const port = await freePort();
mkdirSync(join(work, 'registry'));
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
const reg = (await import('node:child_process')).spawn('/usr/bin/docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
const REG = `127.0.0.1:${port}`;
try {
  await new Promise((ok) => setTimeout(ok, 1500));
  // Inputs, the base image in both worlds, and the published image.
  const base = join(work, 'debian-base');
  const arch = join(work, 'arch-like');
  writeContext('debian-base', base, process.env.REPRO_DEBIAN_ROOTFS);
  writeContext('arch-like', arch, process.env.REPRO_DEBIAN_ROOTFS);
  const flags = ['--no-cache', '--network=none', `--source-date-epoch=${EPOCH}`, '--rewrite-timestamp'];
  podman('build', ...flags, '-f', join(base, 'Containerfile'), '-t', GT_BASE_IMAGE, base);
  const ourBase = `oci:${join(work, 'our-base')}:base`;
  timed('node', [CLI, 'build', '--containerfile', join(base, 'Containerfile'), '--compat', 'podman', '--source-date-epoch', EPOCH, '--compression', 'none', '--output', ourBase]);
  const published = `${REG}/arch/repro:latest`;
  podman('build', ...flags, '-f', join(arch, 'Containerfile'), '-t', 'localhost/published/arch:latest', arch);
  podman('push', '--quiet', '--tls-verify=false', 'localhost/published/arch:latest', `docker://${published}`);
  podman('rmi', 'localhost/published/arch:latest');

  const verify = ['verify', '--containerfile', join(arch, 'Containerfile'), '--compat', 'podman', '--against', `docker://${published}`, '--tls-verify=false', '--from-image', `${GT_BASE_IMAGE}=${ourBase}`];
  timed('node', [CLI, ...verify], ourEnv);
  const rows = { ours: [], disk: [], plain: [], podman: [] };
  const extra = { ours: [], disk: ['--scratch', 'disk'], plain: ['--scratch', 'disk', '--no-unpacked-cache'] };
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? ['ours', 'disk', 'plain', 'podman'] : ['podman', 'plain', 'disk', 'ours'];
    for (const who of order) {
      // Each procedure starts with nothing left to write back from the one before (untimed): on a
      // 2-core machine the flush of a run that wrote to disk otherwise lands in the next one's time.
      spawnSync('sync');
      await new Promise((ok) => setTimeout(ok, 1000));
      if (who !== 'podman') {
        const r = timed('node', [CLI, ...verify, ...extra[who]], ourEnv);
        if (!r.stdout.startsWith('reproduced sha256:')) throw new Error(`ours did not reproduce: ${r.stdout}`);
        rows[who].push({ wall: r.wall, mib: r.mib });
      } else {
        const b = podman('build', ...flags, '-f', join(arch, 'Containerfile'), '-t', 'localhost/rebuilt/arch:latest', arch);
        const p = podman('pull', '--quiet', '--tls-verify=false', `docker://${published}`);
        const d1 = podman('image', 'inspect', '--format', '{{.Digest}}', 'localhost/rebuilt/arch:latest');
        const d2 = podman('image', 'inspect', '--format', '{{.Digest}}', published);
        rows.podman.push({ wall: b.wall + p.wall + d1.wall + d2.wall, mib: Math.max(b.mib, p.mib, d1.mib, d2.mib), digests: [d1.stdout.trim(), d2.stdout.trim()] });
        podman('rmi', '--force', 'localhost/rebuilt/arch:latest', published);
      }
    }
  }
  const line = (name, xs) => `${name.padEnd(36)} ${median(xs.map((x) => x.wall)).toFixed(2).padStart(8)} ${Math.max(...xs.map((x) => x.mib)).toFixed(0).padStart(10)}`;
  const ratio = median(rows.podman.map((x) => x.wall)) / median(rows.ours.map((x) => x.wall));
  const table = [
    `verify of the Arch-shaped image (${RUNS} runs each; median wall, largest peak RSS; store, cache and temp dir in ${SCRATCH})`,
    `${'procedure'.padEnd(36)} ${'wall s'.padStart(8)} ${'peak MiB'.padStart(10)}`,
    line('repro-image verify (digest proof)', rows.ours),
    line('  the same, --scratch disk', rows.disk),
    line('  --scratch disk --no-unpacked-cache', rows.plain),
    line('REPRO.md: podman build+pull+inspect', rows.podman),
    `ratio (podman / ours): ${ratio.toFixed(2)}x`,
    `podman's two inspect digests (REPRO.md's check) per run: ${rows.podman.map((r) => r.digests.join(' vs ')).join('; ')}`,
    `all runs: ours ${JSON.stringify(rows.ours)}; on disk ${JSON.stringify(rows.disk)}; neither ${JSON.stringify(rows.plain)}; podman ${JSON.stringify(rows.podman.map(({ wall, mib }) => ({ wall, mib })))}`,
  ].join('\n');
  console.log(table);
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO, 'bench/results/verify-podman.txt'), `${table}\n`);
} finally {
  reg.kill();
  rmSync(work, { recursive: true, force: true });
  rmSync(store, { recursive: true, force: true });
  rmSync(ourCache, { recursive: true, force: true });
  rmSync(ourTmp, { recursive: true, force: true });
}
