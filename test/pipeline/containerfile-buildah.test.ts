import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseContainerfile, resolveContainerfile } from '../../src/pipeline/containerfile/index.js';
import type { ResolvedStage } from '../../src/pipeline/containerfile/index.js';

// Cross-check with a real buildah (Debian's; bookworm has 1.28 with imagebuilder 1.2.4). These
// Containerfiles use only what every buildah from 1.28 to 1.43 parses alike (no RUN, so no
// runtime; FROM scratch and stages, so no registry): the image config buildah commits and its
// history must be what our resolution predicts.

const CASES: Record<string, string> = {
  quoting: [
    'ARG VERSION=1.0',
    'FROM scratch AS root',
    'ARG VERSION',
    'LABEL a="$VERSION" b=${VERSION:-x} \\',
    "      c='lit $VERSION' d=\"<x@y> & z\" e=${UNSET:+alt}",
    'ENV C trailing\\\\backslash\\\\',
    'ENV D joined',
    'LABEL legacy value with  "quotes"  and spaces',
    'CMD ["a"] junk',
    'ENTRYPOINT   /bin/app  --x  ',
    'EXPOSE 80 53/udp/x',
    'WORKDIR rel/../dir/',
    'STOPSIGNAL sigterm',
  ].join('\n'),
  copy: [
    'FROM scratch',
    'ARG OWNER=12',
    'ENV DIR=/opt/x  P="8080 9090/udp"',
    'COPY --chown=$OWNER:34 --chmod=0640 file.txt $DIR/',
    'COPY file.txt rel',
    'USER "app:$OWNER"',
    'EXPOSE $P "$P"',
    "VOLUME /v1 ['v2']",
    'VOLUME ["/v3"]',
  ].join('\n'),
  stages: [
    '# escape=`',
    'ARG NAME=first',
    'FROM scratch AS first',
    'ENV A=1 `',
    '    B="two words"',
    'COPY file.txt /',
    'WORKDIR /w',
    'FROM $NAME',
    'ENV A=3',
    'COPY --from=0 /file.txt sub/',
    'CMD echo "$A"',
    'ENTRYPOINT ["/e"]',
  ].join('\n'),
  continuation: [
    'FROM scratch',
    'LABEL x=1 \\',
    '  # a comment inside',
    '',
    '  y=2',
    'env  K  v \\\t ',
    '  w',
    'Label "quoted key"=v \'single\'="a b"',
    'ENV E="a\\"b" F=\'a\\b\' G=a\\ b',
  ].join('\n'),
};

interface Config {
  Env?: string[];
  Labels?: Record<string, string>;
  Cmd?: string[];
  Entrypoint?: string[];
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, unknown>;
  Volumes?: Record<string, unknown>;
  StopSignal?: string;
}

/** The config fields the resolved instructions decide, folded as imagebuilder's dispatchers fold them. */
function predictedConfig(stage: ResolvedStage, base: Config): Config {
  const c: Config = { ...base, Labels: { ...base.Labels }, ExposedPorts: { ...base.ExposedPorts }, Volumes: { ...base.Volumes } };
  for (const ins of stage.instructions) {
    switch (ins.kind) {
      case 'label': for (const [k, v] of ins.pairs) c.Labels![k] = v; break;
      case 'cmd': c.Cmd = [...ins.cmd]; break;
      case 'entrypoint':
        if (ins.entrypoint === null) delete c.Entrypoint; else c.Entrypoint = [...ins.entrypoint];
        if (ins.clearsCmd) delete c.Cmd;
        break;
      case 'user': c.User = ins.user; break;
      case 'expose': for (const p of ins.ports) c.ExposedPorts![p] = {}; break;
      case 'volume': for (const p of ins.paths) c.Volumes![p] = {}; break;
      case 'stopsignal': c.StopSignal = ins.signal; break;
      default: break;
    }
  }
  c.Env = [...stage.env];
  if (stage.workingDir !== '') c.WorkingDir = stage.workingDir;
  return c;
}

function predictedHistory(stage: ResolvedStage): string[] {
  return stage.instructions.map((ins) => {
    switch (ins.kind) {
      case 'arg': return `/bin/sh -c #(nop) ARG ${ins.buildArgs.map(([k]) => k).join(' ')}`;
      case 'copy':
      case 'add': return `/bin/sh -c #(nop) ${ins.kind.toUpperCase()} <content> in ${ins.rawDest} `;
      default: return `/bin/sh -c #(nop) ${ins.source.original}`;
    }
  });
}

test('buildah commits the config and history our resolution predicts', { timeout: 180_000 }, () => {
  const version = spawnSync('buildah', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) assert.fail('buildah is needed for this test: apt-get install buildah');
  const dir = mkdtempSync(join(tmpdir(), 'buildah-xcheck-'));
  const store = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'];
  const env = { ...process.env, BUILDAH_ISOLATION: 'chroot', TMPDIR: dir, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') };
  try {
    writeFileSync(join(dir, 'registries.conf'), '');
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'file.txt'), 'hi\n');
    for (const [name, text] of Object.entries(CASES)) {
      writeFileSync(join(ctx, name), text);
      const built = spawnSync('buildah', [...store, 'build', '--layers', '-q', '-f', join(ctx, name), '-t', `xcheck-${name}`, ctx], { env, encoding: 'utf8' });
      assert.equal(built.status, 0, `${name}: ${built.stderr}`);
      const inspected = spawnSync('buildah', [...store, 'inspect', '--type', 'image', `xcheck-${name}`], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(inspected.status, 0, inspected.stderr);
      const image = JSON.parse(inspected.stdout) as { OCIv1: { config: Config; history?: { created_by?: string }[] } };
      const actual = { ...image.OCIv1.config };
      if (actual.Labels) delete actual.Labels['io.buildah.version'];

      const resolved = resolveContainerfile(parseContainerfile(text, name));
      let base: Config = {};
      const history: string[] = [];
      for (const stage of resolved.stages) {
        const predicted = predictedConfig(stage, base);
        history.push(...predictedHistory(stage));
        base = predicted;
      }
      const final = base;
      for (const key of ['Env', 'Labels', 'Cmd', 'Entrypoint', 'User', 'WorkingDir', 'ExposedPorts', 'Volumes', 'StopSignal'] as const) {
        const a = actual[key];
        const p = final[key];
        const empty = (v: unknown): boolean => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
        if (empty(a) && empty(p)) continue;
        assert.deepEqual(a, p, `${name}: ${key}`);
      }
      // the history of the last stage, with the COPY content digests (which buildah computes) masked
      const createdBy = (image.OCIv1.history ?? []).map((h) => (h.created_by ?? '').replace(/ (file|dir):[0-9a-f]{64} in /, ' <content> in '));
      const last = predictedHistory(resolved.stages.at(-1)!);
      assert.deepEqual(createdBy.slice(-last.length), last, `${name}: history`);
    }
  } finally {
    spawnSync('buildah', [...store, 'rmi', '--all', '--force'], { env });
    rmSync(dir, { recursive: true, force: true });
  }
});
