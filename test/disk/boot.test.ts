/**
 * Boot: the example Debian disk (linux-image-amd64, systemd, systemd-boot, busybox-static and one
 * unit) locked from the host's mirror, built twice to the same bytes, then booted with
 * qemu-system-x86_64 and OVMF under TCG: firmware → systemd-boot → Linux → our initrd → ext4 root
 * → systemd → the unit prints the marker on the serial console. The serial log's last lines go to
 * the test output.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { have } from '../helpers/disk.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/disk-boot');
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const MARKER = 'REPRO-IMAGE-BOOTED';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'boot-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: NodeJS.ProcessEnv = {}, umask?: string): string {
  const r = runCli(args, { env, ...(umask ? { umask } : {}) });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Boots `disk` and resolves with the serial log once the marker shows (or the time is up). */
function boot(disk: string, seconds: number): Promise<{ log: string; found: boolean; after: number }> {
  const vars = join(dir, 'vars.fd');
  copyFileSync(OVMF_VARS, vars);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const q = spawn('qemu-system-x86_64', [
      '-machine', 'q35,accel=tcg', '-m', '1024', '-nographic', '-no-reboot',
      '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`,
      '-drive', `file=${disk},format=raw,if=virtio,snapshot=on`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let found = false;
    const timer = setTimeout(() => q.kill('SIGKILL'), seconds * 1000);
    const onData = (d: Buffer): void => {
      log += d.toString('latin1');
      if (!found && log.includes(MARKER)) {
        found = true;
        setTimeout(() => q.kill('SIGKILL'), 2000);
      }
    };
    q.stdout.on('data', onData);
    q.stderr.on('data', onData);
    q.on('error', reject);
    q.on('close', () => {
      clearTimeout(timer);
      resolve({ log, found, after: (Date.now() - started) / 1000 });
    });
  });
}

test('a Debian disk boots under UEFI (OVMF, TCG) through systemd-boot to a unit that prints the marker', { timeout: 900_000 }, async (t) => {
  if (!have('qemu-system-x86_64') || !existsSync(OVMF_CODE)) { t.skip('qemu-system-x86 or ovmf not installed'); return; }
  for (const f of ['image.yaml', 'marker.service']) copyFileSync(join(EXAMPLE, f), join(dir, f));
  const spec = join(dir, 'image.yaml');
  const cache = { XDG_CACHE_HOME: join(dir, 'cache') };
  cli(['lock', spec], cache);
  cli(['fetch', spec], cache);
  const a = JSON.parse(cli(['build', spec, '--output', `disk:${join(dir, 'a.raw')}`, '--json'], { ...cache, TZ: 'Asia/Kolkata' }, '077')) as { disk: { sha256: string }; bootloader: { kernel: string; entry: string } };
  const b = JSON.parse(cli(['build', spec, '--offline', '--output', `disk:${join(dir, 'b.raw')}`, '--json'], { ...cache, UV_THREADPOOL_SIZE: '1' }, '022')) as { disk: { sha256: string } };
  assert.equal(b.disk.sha256, a.disk.sha256, 'two builds, the same disk');
  assert.match(a.bootloader.entry, /^options root=PARTUUID=[0-9a-f-]{36} ro console=ttyS0/m);
  const r = await boot(join(dir, 'a.raw'), 600);
  const tail = r.log.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '').slice(-12).join('\n');
  t.diagnostic(`kernel ${a.bootloader.kernel}, disk ${a.disk.sha256}, marker after ${r.after.toFixed(1)} s; serial log ends:\n${tail}`);
  assert.ok(r.found, `no ${MARKER} on the serial console; the log ends:\n${tail}`);
  // The initrd that booted is ours (initramfs-tools is locked as a dependency, but never runs).
  assert.match(r.log, /EXT4-fs \(vda2\): mounted filesystem/);
});
