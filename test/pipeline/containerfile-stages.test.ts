import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerfile, planStages, resolveContainerfile, makeAbsolute, nextWorkingDir, DEFAULT_PATH_ENV } from '../../src/pipeline/containerfile/index.js';
import type { ResolveOptions, ResolvedInstruction, ResolvedContainerfile } from '../../src/pipeline/containerfile/index.js';
import { ReproError } from '../../src/model/errors.js';

const ALPINE = { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };

function resolve(text: string, options: ResolveOptions = {}): ResolvedContainerfile {
  return resolveContainerfile(parseContainerfile(text, 'Containerfile'), { baseImage: () => ALPINE, ...options });
}

function failsWith(text: string, code: string, pattern: RegExp, options: ResolveOptions = {}): void {
  assert.throws(() => resolve(text, options), (e: unknown) => {
    assert.ok(e instanceof ReproError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

function only<K extends ResolvedInstruction['kind']>(r: ResolvedInstruction, kind: K): Extract<ResolvedInstruction, { kind: K }> {
  assert.equal(r.kind, kind);
  return r as Extract<ResolvedInstruction, { kind: K }>;
}

// The shape of Arch Linux's Dockerfile.repro (archlinux-docker), with ARG substitution in LABELs.
const ARCH_LIKE = `ARG VERSION_ID=20260331.0.508794
ARG TITLE="Arch Linux base"

FROM alpine:3.20 AS verify
COPY repro.tar.zst /
RUN apk add --no-cache tar zstd && \\
    mkdir /rootfs && \\
    tar -C /rootfs --extract --file /repro.tar.zst

FROM scratch AS root
ARG VERSION_ID
ARG TITLE
LABEL org.opencontainers.image.title="$TITLE"
LABEL org.opencontainers.image.description="Official containerd image of Arch Linux, a simple, lightweight Linux distribution aimed for flexibility."
LABEL org.opencontainers.image.authors="Santiago Torres-Arias <santiago@archlinux.org> (@SantiagoTorres), Christian Rebischke <Chris.Rebischke@archlinux.org> (@shibumi)"
LABEL org.opencontainers.image.version="\${VERSION_ID}"
LABEL org.opencontainers.image.revision=\${REVISION:-unknown}

COPY --from=verify /rootfs/ /

RUN ldconfig && \\
    sed -i '/BUILD_ID/a VERSION_ID=\${VERSION_ID}' /etc/os-release

ENV LANG=C.UTF-8
CMD ["/usr/bin/bash"]
`;

test('an Arch-Linux-like Dockerfile.repro: two stages, COPY --from, ARG substitution in LABELs, RUN untouched', () => {
  const seen: string[] = [];
  const r = resolve(ARCH_LIKE, { baseImage: (ref) => { seen.push(ref); return ALPINE; } });
  assert.deepEqual(seen, ['alpine:3.20']);
  assert.deepEqual(r.plan.stages.map((s) => [s.index, s.name, s.base]), [
    [0, 'verify', { kind: 'image', reference: 'alpine:3.20' }],
    [1, 'root', { kind: 'scratch' }],
  ]);
  assert.equal(r.plan.target, 1);
  assert.deepEqual(Object.fromEntries([...r.plan.headingArgs].filter(([k]) => !k.startsWith('TARGET') && !k.startsWith('BUILD'))),
    { VERSION_ID: '20260331.0.508794', TITLE: 'Arch Linux base' });
  const [verify, root] = r.stages;
  assert.ok(verify && root);
  const run = only(verify.instructions[1]!, 'run');
  assert.deepEqual(run.argv, ['apk add --no-cache tar zstd &&     mkdir /rootfs &&     tar -C /rootfs --extract --file /repro.tar.zst']);
  assert.equal(run.shell, true);
  assert.deepEqual(run.env, ALPINE.env);

  const labels = root.instructions.filter((i) => i.kind === 'label').flatMap((i) => only(i, 'label').pairs);
  assert.deepEqual(Object.fromEntries(labels), {
    'org.opencontainers.image.title': 'Arch Linux base',
    'org.opencontainers.image.description': 'Official containerd image of Arch Linux, a simple, lightweight Linux distribution aimed for flexibility.',
    'org.opencontainers.image.authors': 'Santiago Torres-Arias <santiago@archlinux.org> (@SantiagoTorres), Christian Rebischke <Chris.Rebischke@archlinux.org> (@shibumi)',
    'org.opencontainers.image.version': '20260331.0.508794',
    'org.opencontainers.image.revision': 'unknown',
  });
  // buildah's history keeps the unsubstituted text
  assert.equal(root.instructions[5]!.source.original, 'LABEL org.opencontainers.image.version="${VERSION_ID}"');
  const copy = only(root.instructions[7]!, 'copy');
  assert.deepEqual([copy.from, copy.sources, copy.dest, copy.rawDest], [{ kind: 'stage', index: 0 }, ['/rootfs/'], '/', '/']);
  const ldconfig = only(root.instructions[8]!, 'run');
  assert.deepEqual(ldconfig.argv, ["ldconfig &&     sed -i '/BUILD_ID/a VERSION_ID=${VERSION_ID}' /etc/os-release"]);
  assert.equal(ldconfig.source.original.slice(4), "ldconfig &&     sed -i '/BUILD_ID/a VERSION_ID=${VERSION_ID}' /etc/os-release");
  // RUN gets the declared ARGs in its environment (and buildah lists them in the history)
  assert.ok(ldconfig.env.includes('VERSION_ID=20260331.0.508794'));
  assert.deepEqual(ldconfig.buildArgs, [['TITLE', 'Arch Linux base'], ['VERSION_ID', '20260331.0.508794']]);
  assert.ok(ldconfig.env.includes(DEFAULT_PATH_ENV));
  assert.deepEqual(only(root.instructions[9]!, 'env').pairs, [['LANG', 'C.UTF-8']]);
  assert.deepEqual(only(root.instructions[10]!, 'cmd').cmd, ['/usr/bin/bash']);
  // scratch: the default PATH first, then ENV, as buildah commits them
  assert.deepEqual(root.env, [DEFAULT_PATH_ENV, 'LANG=C.UTF-8']);
  assert.equal(root.workingDir, '');

  // --build-arg overrides the global default, and reaches the stage that declares the ARG
  const r2 = resolve(ARCH_LIKE, { buildArgs: { VERSION_ID: '1.0', REVISION: 'abc', UNUSED: 'x' } });
  const labels2 = Object.fromEntries(r2.stages[1]!.instructions.filter((i) => i.kind === 'label').flatMap((i) => only(i, 'label').pairs));
  assert.equal(labels2['org.opencontainers.image.version'], '1.0');
  // REVISION was never declared with ARG, so --build-arg does not reach it
  assert.equal(labels2['org.opencontainers.image.revision'], 'unknown');
});

test('global ARGs in FROM, --build-arg, built-in platform ARGs, --platform', () => {
  const text = 'ARG BASE=debian\nARG TAG\nFROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-bookworm} AS b\nFROM $BASE-$TARGETARCH\nARG TARGETARCH\nRUN echo\nLABEL arch=$TARGETARCH os=$TARGETOS undeclared=$BUILDARCH';
  const r = resolve(text);
  assert.deepEqual(r.plan.stages.map((s) => [s.baseName, s.platform]), [['debian:bookworm', 'linux/amd64'], ['debian-amd64', undefined]]);
  const label = only(r.stages.at(-1)!.instructions[2]!, 'label');
  assert.deepEqual(label.pairs, [['arch', 'amd64'], ['os', ''], ['undeclared', '']]);
  const r2 = resolve(text, { buildArgs: new Map([['TAG', 'trixie'], ['BASE', 'ubuntu']]), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, hostPlatform: { os: 'linux', architecture: 'riscv64' } });
  assert.deepEqual(r2.plan.stages.map((s) => [s.baseName, s.platform]), [['ubuntu:trixie', 'linux/riscv64'], ['ubuntu-arm64', undefined]]);
  assert.deepEqual(only(r2.stages.at(-1)!.instructions[2]!, 'label').pairs[0], ['arch', 'arm64']);
  failsWith('ARG TARGETPLATFORM=x\nFROM a', 'E_BAD_INPUT', /^Containerfile:1: attempted to redefine "TARGETPLATFORM"$/);
});

test('stage references: by name, by index, images, scratch; --target; only the stages the target needs', () => {
  const text = [
    'FROM debian AS base', 'ENV A=1 B=2', 'WORKDIR /srv',
    'FROM base AS child', 'ENV B=3', 'COPY a b',
    'FROM alpine', 'RUN true',
    'FROM scratch', 'COPY --from=child /x /y', 'COPY --from=2 /p /q', 'COPY --from=busybox:1 /bin/sh /sh', 'COPY --from=3 /a /b',
  ].join('\n');
  const asked: string[] = [];
  const r = resolve(text, { baseImage: (ref) => { asked.push(ref); return ref === 'debian' ? { env: ['PATH=/bin', 'A=0'], workingDir: '/root' } : ALPINE; } });
  assert.deepEqual(r.plan.stages.map((s) => [s.name, s.named, s.base]), [
    ['base', true, { kind: 'image', reference: 'debian' }],
    ['child', true, { kind: 'stage', index: 0 }],
    ['2', false, { kind: 'image', reference: 'alpine' }],
    ['3', false, { kind: 'scratch' }],
  ]);
  assert.deepEqual(r.stages.map((s) => s.stage.index), [0, 1, 2, 3]);
  assert.deepEqual(asked, ['debian', 'alpine']);
  const [base, child, , last] = r.stages;
  assert.deepEqual(base!.env, ['PATH=/bin', 'A=1', 'B=2']);
  assert.equal(base!.workingDir, '/srv');
  // the child starts from its base stage's environment and working directory
  assert.deepEqual(child!.env, ['PATH=/bin', 'A=1', 'B=3']);
  assert.equal(only(child!.instructions[1]!, 'copy').dest, '/srv/b');
  const froms = last!.instructions.map((i) => only(i, 'copy').from);
  assert.deepEqual(froms, [{ kind: 'stage', index: 1 }, { kind: 'stage', index: 2 }, { kind: 'image', reference: 'busybox:1' }, { kind: 'image', reference: '3' }]);

  // --target: stages after it are dropped, and stages it does not need are not resolved
  const asked2: string[] = [];
  const t = resolve(text, { target: 'child', baseImage: (ref) => { asked2.push(ref); return { env: [] }; } });
  assert.equal(t.plan.target, 1);
  assert.deepEqual(t.plan.stages.map((s) => s.name), ['base', 'child']);
  assert.deepEqual(asked2, ['debian']);
  assert.equal(resolve(text, { target: '2' }).plan.target, 2);
  failsWith(text, 'E_USAGE', /^the target "nope" was not found in Containerfile$/, { target: 'nope' });
  const r3 = resolve('FROM a AS x\nFROM b\nFROM c\nCOPY --from=1 a b');
  assert.deepEqual(r3.stages.map((s) => s.stage.index), [1, 2]);
  failsWith('FROM a\nRUN x', 'E_USAGE', /^Containerfile:1: no configuration given for base image a$/, { baseImage: () => undefined });
});

test('ARG scoping inside stages, ENV over ARG, inherited ARGs', () => {
  const text = [
    'ARG G=global', 'ARG H',
    'FROM a AS one',
    'LABEL before=$G',
    'ARG G', 'ARG H', 'ARG L=local',
    'LABEL after=$G h=$H l=$L',
    'ENV L=env',
    'LABEL env=$L',
    'ARG L=again',
    'LABEL still=$L',
    'FROM one',
    'LABEL inherited=$L g=$G',
  ].join('\n');
  const r = resolve(text, { buildArgs: { H: 'from-cli' } });
  const pairs = (s: number, i: number): readonly (readonly [string, string])[] => only(r.stages[s]!.instructions[i]!, 'label').pairs;
  assert.deepEqual(pairs(0, 0), [['before', '']]);
  assert.deepEqual(pairs(0, 4), [['after', 'global'], ['h', 'from-cli'], ['l', 'local']]);
  assert.deepEqual(pairs(0, 6), [['env', 'env']]);
  assert.deepEqual(pairs(0, 8), [['still', 'env']]);
  // the stage built on `one` re-declares one's ARGs (imagebuilder >= 1.2.16); L's ENV value comes with the image
  assert.deepEqual(r.plan.stages[1]!.inheritedArgs, ['G', 'H', 'L=local', 'L=again']);
  assert.deepEqual(pairs(1, 0), [['inherited', 'env'], ['g', 'global']]);
  const declared = only(r.stages[0]!.instructions[3]!, 'arg');
  assert.deepEqual(declared.declarations, [{ name: 'L', value: 'local' }]);
  assert.deepEqual(declared.buildArgs, [['G', 'global'], ['H', 'from-cli'], ['L', 'local']]);
  // buildah 1.41 passed inherited ARG words unexpanded, later versions expand them: refused
  failsWith('FROM a AS one\nARG X="q"\nFROM one', 'E_UNSUPPORTED', /^Containerfile:3: this stage inherits ARG values that buildah versions expand differently/);
  assert.equal(resolve('FROM a AS one\nARG X="q"\nFROM a').stages.length, 1);
  failsWith('FROM a\nARG', 'E_BAD_INPUT', /^Containerfile:2: ARG requires an argument$/);
  failsWith('FROM a\nARG =x', 'E_BAD_INPUT', /^Containerfile:2: ARG with an empty name$/);
});

test('COPY/ADD flags, destinations and sources; WORKDIR; RUN flags', () => {
  const r = resolve([
    'FROM a',
    'ARG OWNER=1000',
    'ENV GROUP=100 DEST=/opt/app',
    'COPY --chown=$OWNER:$GROUP --chmod=0755 a \'b\' $DEST/',
    'WORKDIR rel',
    'COPY x .',
    'WORKDIR /abs/../abs/',
    'ADD y.tar.zst z/.',
    'WORKDIR sub/../other',
    'RUN --network=none ["true"]',
    'COPY ["$DEST", "in json"]',
  ].join('\n'));
  const s = r.stages[0]!.instructions;
  const c1 = only(s[2]!, 'copy');
  assert.deepEqual([c1.chown, c1.chmod, c1.sources, c1.dest], ['1000:100', '0755', ['a', 'b'], '/opt/app/']);
  assert.equal(only(s[3]!, 'workdir').path, '/rel');
  assert.equal(only(s[4]!, 'copy').dest, '/rel/');
  assert.equal(only(s[5]!, 'workdir').path, '/abs/../abs');
  assert.equal(only(s[6]!, 'add').dest, '/abs/z/'); // joined and cleaned, the trailing slash kept
  assert.equal(only(s[7]!, 'workdir').path, '/abs/other');
  const run = only(s[8]!, 'run');
  assert.deepEqual([run.shell, run.argv, run.network], [false, ['true'], 'none']);
  assert.deepEqual(only(s[9]!, 'copy').sources, ['/opt/app']);
  assert.equal(only(s[9]!, 'copy').dest, '/abs/other/in json');

  const bad: [string, string, RegExp][] = [
    ['COPY --link a b', 'E_UNSUPPORTED', /^Containerfile:2: COPY --link is not supported$/],
    ['COPY --parents a b', 'E_UNSUPPORTED', /COPY --parents is not supported/],
    ['ADD --checksum=sha256:00 a b', 'E_UNSUPPORTED', /ADD --checksum is not supported/],
    ['COPY --exclude=*.o a b', 'E_UNSUPPORTED', /COPY --exclude is not supported/],
    ['COPY --user=me a b', 'E_BAD_INPUT', /^Containerfile:2: COPY only supports the --chmod=<permissions>, --chown=<uid:gid> and --from=<image\|stage> flags/],
    ['COPY --chmod a b', 'E_BAD_INPUT', /COPY only supports/],
    ['ADD --from=x a b', 'E_BAD_INPUT', /ADD only supports/],
    ['COPY --chmod=0855 a b', 'E_BAD_INPUT', /error parsing chmod 0855/],
    ['COPY --chmod=77777777777 a b', 'E_BAD_INPUT', /error parsing chmod/],
    ['COPY --chown= a b', 'E_BAD_INPUT', /no value specified for --chown=/],
    ['COPY --from=a=b x y', 'E_BAD_INPUT', /invalid --from flag/],
    ['COPY a', 'E_BAD_INPUT', /COPY requires at least two arguments/],
    // the shell form splits at blanks before quotes are read, so a quoted blank breaks the word
    ['COPY "b c" d', 'E_BAD_INPUT', /^Containerfile:2: unexpected end of statement while looking for matching double-quote$/],
    ['ADD https://example.org/x /', 'E_UNSUPPORTED', /ADD from a URL is not supported/],
    ['COPY http://example.org/x /', 'E_BAD_INPUT', /source can't be a URL for COPY/],
    ['RUN --mount=type=cache,target=/x true', 'E_UNSUPPORTED', /^Containerfile:2: RUN --mount is not supported$/],
    ['RUN --network= true', 'E_BAD_INPUT', /no value specified for --network=/],
    ['RUN --privileged true', 'E_BAD_INPUT', /RUN only supports the --mount and --network flag/],
    ['RUN', 'E_BAD_INPUT', /RUN requires a command/],
    ['WORKDIR', 'E_BAD_INPUT', /WORKDIR requires exactly one argument/],
    ['USER', 'E_BAD_INPUT', /USER requires exactly one argument/],
    ['EXPOSE $UNSET', 'E_BAD_INPUT', /EXPOSE requires at least one argument/],
    ['VOLUME ["", "/x"]', 'E_BAD_INPUT', /Volume specified can not be an empty string/],
    ['STOPSIGNAL SIGNOPE', 'E_BAD_INPUT', /invalid signal: SIGNOPE/],
    ['STOPSIGNAL 0', 'E_BAD_INPUT', /invalid signal: 0/],
    ['STOPSIGNAL TE\rRM', 'E_BAD_INPUT', /^Containerfile:2: invalid signal: TE\\u000dRM$/],
    ['ENV =x', 'E_BAD_INPUT', /ENV with an empty name/],
    ['LABEL "$UNSET"=x', 'E_BAD_INPUT', /LABEL with an empty name/],
    ['LABEL a="unterminated', 'E_BAD_INPUT', /^Containerfile:2: unexpected end of statement while looking for matching double-quote$/],
    ['ENV a=${b-c}', 'E_BAD_INPUT', /^Containerfile:2: Missing ':'/],
  ];
  for (const [line, code, pattern] of bad) failsWith(`FROM a\n${line}`, code, pattern);
});

test('CMD, ENTRYPOINT, USER, EXPOSE, VOLUME, STOPSIGNAL as imagebuilder sets them', () => {
  const r = resolve([
    'FROM a',
    'ENTRYPOINT ["/init"]',
    'CMD echo "$HOME"',
    'ENTRYPOINT /bin/app --flag',
    'ENTRYPOINT',
    'CMD',
    'CMD []',
    'ENV P="8080 9090/udp"',
    'EXPOSE 80 $P 53/udp/extra "$P"',
    'USER "app:app"',
    "VOLUME /data ['not-json']",
    'VOLUME [" /json "]',
    'STOPSIGNAL sigRTMIN+3',
    'STOPSIGNAL 9',
  ].join('\n'));
  const s = r.stages[0]!.instructions;
  assert.deepEqual([only(s[0]!, 'entrypoint').entrypoint, only(s[0]!, 'entrypoint').clearsCmd], [['/init'], true]);
  assert.deepEqual(only(s[1]!, 'cmd').cmd, ['/bin/sh', '-c', 'echo "$HOME"']);
  assert.deepEqual([only(s[2]!, 'entrypoint').entrypoint, only(s[2]!, 'entrypoint').clearsCmd], [['/bin/sh', '-c', '/bin/app --flag'], false]);
  assert.deepEqual(only(s[3]!, 'entrypoint').entrypoint, null);
  assert.deepEqual(only(s[4]!, 'cmd').cmd, ['/bin/sh', '-c']);
  assert.deepEqual(only(s[5]!, 'cmd').cmd, []);
  assert.deepEqual(only(s[7]!, 'expose').ports, ['80/tcp', '8080/tcp', '9090/udp', '53/udp', '8080 9090/udp']);
  assert.equal(only(s[8]!, 'user').user, 'app:app');
  // not JSON (a word before it), so split at blanks, then each word unquoted
  assert.deepEqual(only(s[9]!, 'volume').paths, ['/data', '[not-json]']);
  assert.deepEqual(only(s[10]!, 'volume').paths, ['/json']);
  assert.equal(only(s[11]!, 'stopsignal').signal, 'sigRTMIN+3');
  assert.equal(only(s[12]!, 'stopsignal').signal, '9');
});

test('FROM lines and stage names that are refused', () => {
  const bad: [string, string, RegExp][] = [
    ['FROM', 'E_BAD_INPUT', /^Containerfile:1: FROM requires either one argument, or three/],
    ['FROM a AS', 'E_BAD_INPUT', /FROM requires either one argument, or three/],
    ['FROM a b c', 'E_BAD_INPUT', /FROM requires either one argument, or three/],
    ['FROM a AS b c', 'E_BAD_INPUT', /FROM requires either one argument, or three/],
    ['FROM a AS $NAME', 'E_UNSUPPORTED', /stage name "\$NAME" is not supported/],
    ['FROM a AS 1x', 'E_UNSUPPORTED', /stage name "1x" is not supported/],
    ['FROM a AS x\nFROM b AS x', 'E_UNSUPPORTED', /^Containerfile:2: stage name "x" is used twice/],
    ['FROM --after=x a', 'E_UNSUPPORTED', /FROM --after is not supported/],
    ['FROM --plat=x a', 'E_BAD_INPUT', /FROM only supports the --platform flag/],
    ['FROM --platform= a', 'E_BAD_INPUT', /no value specified for --platform=/],
    ['ARG E\nFROM $E', 'E_BAD_INPUT', /^Containerfile:2: FROM names an empty image$/],
  ];
  for (const [text, code, pattern] of bad) failsWith(text, code, pattern);
  // "as" is matched as Go's EqualFold does (U+017F folds to s)
  assert.equal(planStages(parseContainerfile('FROM a a\u017f x', 'C')).stages[0]!.name, 'x');
  assert.equal(planStages(parseContainerfile('FROM a aS x', 'C')).stages[0]!.name, 'x');
});

test('makeAbsolute and WORKDIR follow imagebuilder', () => {
  assert.equal(makeAbsolute('.', ''), '/');
  assert.equal(makeAbsolute('.', '/app'), '/app/');
  assert.equal(makeAbsolute('.', '/app/'), '/app/');
  assert.equal(makeAbsolute('x', '/app'), '/app/x');
  assert.equal(makeAbsolute('x/', '/app'), '/app/x/');
  assert.equal(makeAbsolute('x/.', '/app'), '/app/x/');
  assert.equal(makeAbsolute('../../x', '/app'), '/x');
  assert.equal(makeAbsolute('/abs//x/../y', '/app'), '/abs//x/../y');
  assert.equal(nextWorkingDir('a//b/', '/x'), '/x/a/b');
  assert.equal(nextWorkingDir('/', '/x'), '/');
  assert.equal(nextWorkingDir('/y//', '/x'), '/y/');
  assert.equal(nextWorkingDir('..', ''), '/');
});

test('a plain stage root goes on an overlay over itself before a RUN only when no ADD or COPY follows in the stage (a move into an overlay becomes a copy)', async () => {
  const { overlayBeforeStep } = await import('../../src/pipeline/containerfile/build.js');
  const steps = (text: string): readonly ResolvedInstruction[] => resolve(text).stages.at(-1)!.instructions;
  const arch = steps('FROM scratch\nCOPY a /\nRUN ldconfig\nENV X=1\nCMD ["/bin/sh"]\n');
  assert.deepEqual(arch.map((_, i) => overlayBeforeStep(arch, i)), [false, true, false, false]);
  const later = steps('FROM scratch\nCOPY a /\nRUN one\nCOPY b /b\nRUN two\nRUN three\n');
  assert.deepEqual(later.map((_, i) => overlayBeforeStep(later, i)), [false, false, false, true, true]);
  const add = steps('FROM scratch\nADD a.tar /\nRUN one\nADD b.tar /\n');
  assert.deepEqual(add.map((_, i) => overlayBeforeStep(add, i)), [false, false, false]);
});
