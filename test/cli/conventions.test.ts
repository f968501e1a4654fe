/**
 * The CLI behaves as podman, skopeo and crane users expect: --version and `version`, `help CMD`
 * and `CMD --help` for every command, usage on stderr (exit 2) with no arguments, one clean line
 * with a suggestion for a mistyped option or command, short options shown in the help; every flag
 * a command accepts is in its help text, and the man page and completion scripts are made from
 * those texts (the committed repro-image.1 is current, renders without warnings, and the bash and
 * zsh scripts load and complete).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/cli/commands.js';
import { documentedFlags } from '../../src/cli/help-text.js';
import { manPage } from '../../src/cli/man.js';
import { CLI, runCli } from '../helpers/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('--version and version print the version; version says what the host gives', () => {
  const short = runCli(['--version']);
  assert.equal(short.status, 0, short.stderr);
  assert.equal(short.stdout, `repro-image ${VERSION}\n`);
  const long = runCli(['version']);
  assert.equal(long.status, 0, long.stderr);
  assert.match(long.stdout, new RegExp(`^repro-image ${VERSION.replace(/\./g, '\\.')}\nnode v\\d+`));
  assert.match(long.stdout, /^zstd: libzstd 1\.5\.7 \(zstd-napi\)$/m);
  const json = JSON.parse(runCli(['version', '--json']).stdout) as { version: string; zstd: string; xattrs: boolean };
  assert.equal(json.version, VERSION);
  assert.equal(json.zstd, '1.5.7');
  assert.equal(json.xattrs, true);
});

test('no arguments: the usage on stderr, nothing on stdout, exit 2; --help and help: on stdout, exit 0', () => {
  const none = runCli([]);
  assert.equal(none.status, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^Usage: repro-image COMMAND/);
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = runCli(args);
    assert.equal(r.status, 0, args.join(' '));
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, none.stderr);
  }
});

test('every command answers help CMD, CMD --help and CMD -h alike, with its flags and the global ones', async () => {
  for (const c of COMMANDS) {
    const help = (await c.load()).help;
    // The four spellings take the same path for every command (main.ts reads them before it
    // loads the command): all four for two commands, CMD --help for the others.
    const forms = ['build', 'verify'].includes(c.name)
      ? [['help', c.name], [c.name, '--help'], [c.name, '-h'], ['-q', c.name, '--help']]
      : [[c.name, '--help']];
    const outs = forms.map((args) => runCli(args));
    for (const r of outs) {
      assert.equal(r.status, 0, `${c.name}: ${r.stderr}`);
      assert.equal(r.stdout, outs[0]!.stdout);
    }
    assert.ok(outs[0]!.stdout.startsWith(`${help}\n`), c.name);
    assert.match(outs[0]!.stdout, /-q, --quiet/);
    assert.match(help, new RegExp(`^Usage: repro-image ${c.name}\\b`), c.name);
    assert.match(help, /\nExit codes: /, `${c.name} documents its exit codes`);
  }
});

test('every flag a command accepts is in its help (short forms beside long ones), and nothing more', async () => {
  for (const c of COMMANDS) {
    const mod = await c.load();
    const documented = documentedFlags(mod.help);
    for (const [name, o] of Object.entries(mod.options ?? {})) {
      if (mod.hidden?.includes(name)) {
        assert.ok(!documented.has(`--${name}`), `${c.name}: --${name} is hidden`);
        continue;
      }
      const spelled = name.endsWith('insecure') ? `--${name.slice(0, -'insecure'.length)}tls-verify` : `--${name}`;
      assert.ok(documented.has(spelled), `${c.name}: ${spelled} is not in its help`);
      if (o.short) assert.match(mod.help, new RegExp(`\\n  -${o.short}, --${name}\\b`), `${c.name}: -${o.short} is not shown beside --${name}`);
    }
    const accepted = new Set(Object.entries(mod.options ?? {}).flatMap(([n, o]) => [`--${n}`, ...(o.short ? [`-${o.short}`] : []),
      ...(n.endsWith('insecure') ? [`--${n.slice(0, -'insecure'.length)}tls-verify`] : [])]));
    for (const f of documented) assert.ok(accepted.has(f) || f === '--help' || f === '-h', `${c.name}: its help shows ${f}, which it does not accept`);
  }
});

test('a mistyped option or command is one line with a suggestion; no parser text, exit 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['build', '--outptu', 'oci:x'], /^repro-image: build: unknown option --outptu; did you mean --output\? \(see repro-image build --help\)\n$/],
    [['inspect', '--tls-verfy=false', 'oci:x'], /^repro-image: inspect: unknown option --tls-verfy; did you mean --tls-verify\?/],
    [['diff', 'a', 'b', '--a-cred', 'u:p'], /^repro-image: diff: unknown option --a-cred; did you mean --a-creds\?/],
    [['copy', 'a', 'b', '--quite'], /^repro-image: copy: unknown option --quite; did you mean --quiet\?/],
    [['build', '-o'], /^repro-image: build: --output needs a value \(see repro-image build --help\)\n$/],
    [['build', '--json=yes'], /^repro-image: build: --json takes no value/],
    [['biuld'], /^repro-image: unknown command "biuld"; did you mean build\? \(see repro-image --help\)\n$/],
    [['help', 'verfy'], /^repro-image: unknown command "verfy"; did you mean verify\?/],
    [['--frobnicate'], /^repro-image: unknown option --frobnicate before the command/],
    [['-q', '-v', 'version'], /^repro-image: --quiet and --verbose contradict each other\n$/],
  ];
  for (const [args, want] of cases) {
    const r = runCli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, want, args.join(' '));
    assert.doesNotMatch(r.stderr, /To specify a positional argument/);
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
  }
});

test('the committed man page is the one the help texts make, and man renders it without a warning', async () => {
  const committed = readFileSync(join(ROOT, 'repro-image.1'), 'utf8');
  assert.equal(committed, await manPage(VERSION), 'repro-image.1 is stale: run npm run build && npm run man');
  for (const c of COMMANDS) assert.match(committed, new RegExp(`^\\.SS ${c.name}$`, 'm'));
  // A help line that ends inside a path (`…/repro-image/` then `unpacked` on the next line) is
  // joined with a space in the man page: the path it prints is not one.
  assert.doesNotMatch(committed, /[A-Za-z0-9_\\-]\/ [A-Za-z0-9_]/, 'a path cut by a line break in a help text');
  const r = spawnSync('man', ['--warnings', '-l', join(ROOT, 'repro-image.1')], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'groff warnings');
  assert.match(r.stdout, /^NAME\n\s+repro-image - bit-for-bit reproducible OCI container and OS images$/m);
  assert.match(r.stdout, /^\s+-o, --output REF$/m);
  assert.match(r.stdout, /^IMAGE REFERENCES$/m);
  assert.match(r.stdout, /^EXIT STATUS$/m);
});

function bashComplete(line: string): string[] {
  const words = line.split(' ');
  const script = `source <("${process.execPath}" "${CLI}" completion bash) || exit 9
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'
_repro_image; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

test('bash completion loads and completes commands, flags and choices', () => {
  assert.deepEqual(bashComplete('repro-image bu'), ['build']);
  assert.deepEqual(bashComplete('repro-image co').sort(), ['completion', 'copy']);
  assert.ok(bashComplete('repro-image build --out').includes('--output'));
  assert.deepEqual(bashComplete('repro-image build --compression z'), ['zstd']);
  assert.deepEqual(bashComplete('repro-image diff --format '), ['text', 'json']);
  assert.ok(bashComplete('repro-image diff --a-').includes('--a-authfile'));
  assert.ok(bashComplete('repro-image copy --src-tls').includes('--src-tls-verify=false'));
  assert.deepEqual(bashComplete('repro-image completion z'), ['zsh']);
  assert.deepEqual(bashComplete('repro-image help ver'), ['verify', 'version']);
});

test('zsh completion loads as an autoloaded function and as a sourced script', () => {
  const script = `autoload -U compinit && compinit -u -d "$HOME/.zcompdump-test" || exit 8
source <("${process.execPath}" "${CLI}" completion zsh) || exit 9
print -r -- "\${_comps[repro-image]}"
(( \${+functions[_repro_image_build]} )) && print ok`;
  const home = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  const r = spawnSync('zsh', ['-f', '-c', script], { encoding: 'utf8', env: { ...process.env, HOME: home } });
  spawnSync('rm', ['-rf', home]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '_repro_image\nok\n');
  const syntax = spawnSync('zsh', ['-n', '-c', runCli(['completion', 'zsh']).stdout], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  assert.equal(runCli(['completion', 'fish']).status, 2);
});
