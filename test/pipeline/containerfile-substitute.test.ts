import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processWord, processWords } from '../../src/pipeline/containerfile/index.js';
import { goPathMatch } from '../../src/pipeline/containerfile/glob.js';

// buildah substitutes with imagebuilder's own shell_parser.go; these cases follow its rules (the
// pattern cases are the ones imagebuilder checks against bash) and mark where buildkit differs.

const ENV = ['EDITOR=vim', 'FOUREYES=iiii', 'XMODIFIERS=@im=ibus', 'EMPTY=', 'DUP=first', 'DUP=second', 'NOEQUALS', 'ΑΒΓ=greek', 'A_1=x'];

function word(w: string, env: readonly string[] = ENV): string {
  return processWord(w, env, 'Containerfile:7');
}

test('variables, defaults and alternatives', () => {
  const cases: [string, string][] = [
    ['A', 'A'],
    ['$EDITOR', 'vim'],
    ['${EDITOR}', 'vim'],
    ['${EDITOR:+emacs}', 'emacs'],
    ['${EDITOR:-emacs}', 'vim'],
    ['${EDITOR:-${FOUREYES}}', 'vim'],
    ['${EDITOR:+${FOUREYES}}', 'iiii'],
    ['${UNSET:-def}', 'def'],
    ['${EMPTY:-def}', 'def'], // unset and empty are the same to imagebuilder
    ['${UNSET:+alt}', ''],
    ['${EMPTY:+alt}', ''],
    ['${EDITOR:?oops}', 'vim'],
    ['${UNSET:?fallback}', 'fallback'],
    ['$DUP', 'first'], // the first entry wins
    ['$NOEQUALS|$UNSET|', '||'],
    ['$ΑΒΓ', 'greek'], // Unicode letters are name characters
    ['$A_1.$EDITOR-', 'x.vim-'],
    ['$1x', 'x'], // a digit right after $ is a one-character name
    ['$', '$'],
    ['$-', '$-'],
    ['a$ b', 'a$ b'],
    ['${}', ''],
    ['\\$EDITOR', '$EDITOR'],
    ['$EDITOR$FOUREYES', 'vimiiii'],
  ];
  for (const [input, expected] of cases) assert.equal(word(input), expected, input);
});

test('quotes and backslashes', () => {
  const cases: [string, string][] = [
    ["'$EDITOR'", '$EDITOR'],
    ['"$EDITOR"', 'vim'],
    ['"a\\"b"', 'a"b'],
    ['"a\\$b"', 'a$b'],
    ['"a\\\\b"', 'a\\b'],
    ['"a\\nb"', 'a\\nb'], // other backslashes stay inside double quotes
    ["'a\\'", 'a\\'], // no escapes inside single quotes
    ['a\\ b', 'a b'],
    ['a\\\\b', 'a\\b'],
    ['trailing\\', 'trailing'],
    ['\ufeffBOM', 'BOM'], // Go's text/scanner skips a BOM at the start of its input
    ['x\ufeffy', 'x\ufeffy'],
    ['"${EDITOR:-a b}"', 'vim'],
    ["${UNSET:-'a b'}", 'a b'],
  ];
  for (const [input, expected] of cases) assert.equal(word(input), expected, input);
  assert.equal(word('"it\'s" fine'), "it's fine");
});

test('what buildah refuses (buildkit accepts some of these)', () => {
  const errors: [string, RegExp][] = [
    ['${EDITOR-x}', /^Containerfile:7: Missing ':' or '#' or '%' or '\/' in substitution: \$\{EDITOR-x\}$/],
    ['${EDITOR+x}', /Missing ':'/],
    ['${EDITOR?x}', /Missing ':'/],
    ['${ EDITOR}', /Missing ':'/],
    ['${EDITOR', /Missing ':'/],
    ['${EDITOR:=x}', /Unsupported modifier \(=\) in substitution/],
    ['${UNSET:?}', /UNSET is not allowed to be unset/],
    ['${EDITOR:-x', /unexpected end of statement while looking for matching \}/],
    ["'open", /matching single-quote/],
    ['"open', /matching double-quote/],
    ['"open\\', /matching double-quote/],
    ['${FOUREYES//iii/${EDITOR}', /unexpected end of statement/],
    ['${EDITOR#}', /EDITOR#: no prefix to remove/],
    ['${EDITOR%}', /EDITOR%: no suffix to remove/],
    ['${EDITOR/}', /EDITOR\/: no pattern to replace/],
  ];
  for (const [input, pattern] of errors) {
    assert.throws(() => word(input), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_BAD_INPUT', input);
      assert.match(e.message, pattern, input);
      return true;
    });
  }
});

test('prefix, suffix and replacement operators with path.Match, including imagebuilder\'s loop bounds', () => {
  const cases: [string, string][] = [
    ['${XMODIFIERS#*i}', 'm=ibus'],
    ['${XMODIFIERS##*i}', 'bus'],
    ['${XMODIFIERS#i*}', '@im=ibus'],
    ['${XMODIFIERS##i*}', '@im=ibus'],
    ['${XMODIFIERS%i*}', '@im='],
    ['${XMODIFIERS%%i*}', '@'],
    ['${XMODIFIERS%*i}', '@im=ibus'],
    ['${XMODIFIERS%%*i}', '@im=ibus'],
    ['${XMODIFIERS/i/I}', '@Im=ibus'],
    ['${XMODIFIERS//i/I}', '@Im=Ibus'],
    ['${XMODIFIERS/#i/I}', '@im=ibus'],
    ['${XMODIFIERS/%i/I}', '@im=ibus'],
    ['${XMODIFIERS/#@/AT}', 'ATim=ibus'],
    ['${XMODIFIERS/#@}', 'im=ibus'],
    ['${XMODIFIERS/%s/S}', '@im=ibuS'],
    ['${XMODIFIERS/%s}', '@im=ibu'],
    ['${XMODIFIERS//i/aye}', '@ayem=ayebus'],
    ['${XMODIFIERS//b/BEE}', '@im=iBEEus'],
    ['${EDITOR/${EDITOR}/}', ''],
    ['${EDITOR/${EDITOR}}', ''],
    ['${EDITOR//${EDITOR}/}', ''],
    ['${EDITOR//${EDITOR}}', ''],
    ['${FOUREYES/ii/${EDITOR}}', 'vimii'],
    ['${FOUREYES//i/${EDITOR}}', 'vimvimvimvim'],
    ['${FOUREYES//ii/${EDITOR}}', 'vimvim'],
    ['${FOUREYES//iii/${EDITOR}}', 'vimi'],
    // imagebuilder never strips the whole value with # (its loop stops one short), unlike bash
    ['${EDITOR#vim}', 'vim'],
    ['${EDITOR#*}', 'vim'], // * matches the empty prefix first
    ['${EDITOR%m}', 'vi'],
    ['${EDITOR#[u-w]}', 'im'],
    ['${EDITOR#[!v]}', 'im'], // Go negates a class with ^ only: [!v] is '!' or 'v'
    ['${EDITOR#[^v]}', 'vim'],
    ['${EDITOR#\\v}', 'im'],
    ['${EDITOR#[}', 'vim'], // a bad pattern matches nothing
    ['${UNSET#x}', ''],
  ];
  for (const [input, expected] of cases) assert.equal(word(input), expected, input);
  assert.throws(() => word('${BIG//a/b}', [`BIG=${'a'.repeat(5000)}`]), /more than the 4096 a pattern operator is applied to/);
  assert.throws(() => word('${X//?/xx}', [`X=${'a'.repeat(3000)}`]), /grows past 4096 bytes/);
  // a byte-wise cut through a UTF-8 character is refused instead of producing invalid text
  assert.throws(() => word('${X#?}', ['X=éa']), /would cut a UTF-8 character/);
  assert.equal(word('${X%a}', ['X=éa']), 'é');
});

test('Go path.Match', () => {
  const m = (p: string, n: string): boolean | 'bad' => goPathMatch(Buffer.from(p), Buffer.from(n));
  const cases: [string, string, boolean | 'bad'][] = [
    ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true],
    ['a*', 'ab/c', false], ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true], ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false], ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false], ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false], ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false], ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['[\\]a]', ']', true], ['[\\-]', '-', true],
    ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false], ['[\\-x]', 'x', true], ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false], ['[]a]', ']', 'bad'], ['[-]', '-', 'bad'], ['[x-]', 'x', 'bad'], ['[x-]', '-', 'bad'],
    ['[x-]', 'z', 'bad'], ['[-x]', 'x', 'bad'], ['[-x]', '-', 'bad'], ['[-x]', 'a', 'bad'], ['\\', 'a', 'bad'],
    ['[a-b-c]', 'a', 'bad'], ['[', 'a', 'bad'], ['[^', 'a', 'bad'], ['[^bc', 'a', 'bad'], ['a[', 'a', 'bad'],
    ['a[', 'ab', 'bad'], ['a[', 'x', 'bad'], ['a/b[', 'x', 'bad'], ['*x', 'xxx', true],
  ];
  for (const [p, n, expected] of cases) assert.equal(m(p, n), expected, `${p} ~ ${n}`);
});

test('EXPOSE-style word splitting happens after expansion, quotes keep words together', () => {
  const env = ['PORTS=80/tcp  443/udp', 'ONE=8080', 'LEADING=\ufeff9090 1'];
  assert.deepEqual(processWords('$PORTS', env, 'C:1'), ['80/tcp', '443/udp']);
  assert.deepEqual(processWords('"$PORTS"', env, 'C:1'), ['80/tcp  443/udp']);
  assert.deepEqual(processWords('$ONE 53/udp', env, 'C:1'), ['8080', '53/udp']);
  assert.deepEqual(processWords('a\\ b c', env, 'C:1'), ['a b', 'c']);
  assert.deepEqual(processWords("''", env, 'C:1'), []);
  assert.deepEqual(processWords('$UNSET', env, 'C:1'), []);
  assert.deepEqual(processWords('$LEADING', env, 'C:1'), ['9090', '1']);
});

test('a doubling substitution cannot grow without bound', () => {
  let env = ['A=x'];
  for (let i = 0; i < 19; i++) env = [`A=${processWord('$A$A', env, 'C:1')}`];
  assert.equal(env[0]!.length, 2 + 2 ** 19);
  assert.throws(() => processWord('$A$A$A', env, 'C:9'), /^ReproError: C:9: substitution result longer than 1048576 characters$/);
});

test('deep nesting is refused before it can exhaust the stack', () => {
  const nested = `${'${A:-'.repeat(5000)}x${'}'.repeat(5000)}`;
  assert.throws(() => processWord(nested, [], 'C:3'), /^ReproError: C:3: substitutions nested more than 1000 deep$/);
  assert.equal(processWord(`${'${A:-'.repeat(900)}x${'}'.repeat(900)}`, [], 'C:3'), 'x');
});

test('control characters from the file are escaped in messages', () => {
  assert.throws(() => processWord('"a\rb', [], 'C:4'), (e: Error) => {
    assert.equal(e.message, 'C:4: unexpected end of statement while looking for matching double-quote');
    return true;
  });
  assert.throws(() => processWord('${A\r}', [], 'C:5'), (e: Error) => {
    assert.ok(!/[\r\n]/.test(e.message));
    assert.match(e.message, /\\u000d/);
    return true;
  });
});
