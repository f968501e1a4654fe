import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerfile } from '../../src/pipeline/containerfile/index.js';
import type { ParsedContainerfile } from '../../src/pipeline/containerfile/index.js';
import { ReproError } from '../../src/model/errors.js';

// Cases re-expressed from the behaviour of openshift/imagebuilder's parser (which buildah and podman
// use) and from the edge cases in its and buildkit's parser test data; where buildkit parses
// differently, the test says so and expects what podman does.

/** One line per instruction: `command ["flags"] "arg" "arg"`. */
function dump(p: ParsedContainerfile): string[] {
  return p.instructions.map((i) => [i.command, ...(i.flags.length ? [JSON.stringify(i.flags)] : []), ...(i.json ? ['json'] : []), ...i.args.map((a) => JSON.stringify(a))].join(' '));
}

function parse(text: string): ParsedContainerfile {
  return parseContainerfile(text, 'Containerfile');
}

function rejects(text: string, code: string, pattern: RegExp): void {
  assert.throws(() => parse(text), (e: unknown) => {
    assert.ok(e instanceof ReproError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

test('continuation lines keep the indentation of the lines they join (continueIndent)', () => {
  const p = parse([
    'FROM ubuntu:14.04', '',
    'RUN echo hello\\', '  world\\', '  goodnight  \\', '  moon\\', '  light\\', 'ning',
    'RUN echo hello  \\', '  world',
    'RUN echo hello  \\', 'world',
    'RUN echo hello \\', 'goodbye\\', 'frog',
    'RUN echo hello  \\  ', 'world',
    'RUN echo hi \\', ' \\', ' world \\', '\\', ' good\\', '\\', 'night',
    'RUN echo goodbye\\', 'frog',
    'RUN echo hello \\', '# this is a comment', '', '# this is a comment with a blank line surrounding it', '', 'this is some more useful stuff',
  ].join('\n'));
  assert.deepEqual(dump(p), [
    'from "ubuntu:14.04"',
    'run "echo hello  world  goodnight    moon  lightning"',
    'run "echo hello    world"',
    'run "echo hello  world"',
    'run "echo hello goodbyefrog"',
    'run "echo hello  world"',
    'run "echo hi   world  goodnight"',
    'run "echo goodbyefrog"',
    'run "echo hello this is some more useful stuff"',
  ]);
  assert.deepEqual(p.instructions.map((i) => [i.line, i.endLine]), [[1, 1], [3, 8], [9, 10], [11, 12], [13, 15], [16, 17], [18, 24], [25, 26], [27, 32]]);
  // the blank and comment lines inside continuations draw imagebuilder's warning
  assert.deepEqual(p.warnings.map((w) => w.split(':')[1]), ['27']);
});

test('the escape directive, and what ends the directive section', () => {
  const backtick = parse('#escape = `\n\nFROM image\nLABEL maintainer foo@bar.com\nENV GOPATH `\n\\go');
  assert.equal(backtick.escapeToken, '`');
  assert.deepEqual(dump(backtick), ['from "image"', 'label "maintainer" "foo@bar.com"', 'env "GOPATH" "\\\\go"']);
  // directive after a comment is a comment; the backslash is the continuation character
  const after = parse('# Comment here.\n# escape = `\n\nFROM image\nENV GOPATH \\\n\\go');
  assert.equal(after.escapeToken, '\\');
  assert.deepEqual(dump(after), ['from "image"', 'env "GOPATH" "\\\\go"']);
  // no blank line after the directives; a doubled backtick names a backtick
  assert.equal(parse('# escape = ``\n# other\nFROM image\nENV GOPATH `\n\\go').escapeToken, '`');
  // upper case, tabs, leading white space
  assert.equal(parse('  #\tESCAPE\t=\t`\nFROM x').escapeToken, '`');
  // a blank line ends the directive section
  assert.equal(parse('\n# escape=`\nFROM x').escapeToken, '\\');
  // buildkit knows `# syntax=`; imagebuilder does not, so a later escape directive is a comment
  // and the backtick below is an argument, not a continuation: the next line is an instruction.
  rejects('# syntax = docker/dockerfile\n# escape = `\n\nFROM `\n    image\n', 'E_BAD_INPUT', /^Containerfile:5: unknown instruction "image"$/);
  rejects('# escape=x\nFROM a', 'E_BAD_INPUT', /^Containerfile:1: invalid escape character 'x'/);
  rejects('# escape=\\\n# escape=`\nFROM a', 'E_BAD_INPUT', /^Containerfile:2: only one escape parser directive can be used$/);
  // the directive's (.) backtracks onto a trailing blank: podman refuses `# escape= `
  rejects('# escape= \nFROM a', 'E_BAD_INPUT', /^Containerfile:1: invalid escape character ' '/);
  // `# escape=` with nothing after it is not a directive at all
  assert.equal(parse('# escape=\nFROM a').escapeToken, '\\');
});

test('a doubled escape at the end of a line still continues (imagebuilder; buildkit stops there)', () => {
  const p = parse([
    'FROM hello-world',
    'ENV A path',
    'ENV B another\\\\path',
    'ENV C trailing\\\\backslash\\\\',
    'ENV D This should be appended to C in podman',
    'ENV E hello\\', '\\', 'world',
    'ENV F hello\\', ' \\', 'world',
    'ENV G hello \\', '\\', 'world',
  ].join('\n'));
  assert.deepEqual(dump(p), [
    'from "hello-world"',
    'env "A" "path"',
    'env "B" "another\\\\\\\\path"',
    'env "C" "trailing\\\\\\\\backslash\\\\ENV D This should be appended to C in podman"',
    'env "E" "helloworld"',
    'env "F" "hello world"',
    'env "G" "hello world"',
  ]);
});

test('escapes and quotes stay in the words until substitution (escapes)', () => {
  const p = parse([
    'FROM ubuntu:14.04',
    'LABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\"',
    '',
    'RUN apt-get \\update && \\',
    '  apt-get \\"install znc -y',
    'ADD \\conf\\\\" /.znc',
    '',
    'RUN foo \\',
    '',
    'bar \\',
    '',
    'baz',
    '',
    'CMD [ "\\/usr\\\\\\"/bin/znc", "-f", "-r" ]',
  ].join('\n'));
  assert.deepEqual(dump(p), [
    'from "ubuntu:14.04"',
    'label "maintainer" "Erik \\\\\\\\Hollensbe <erik@hollensbe.org>\\\\\\""',
    'run "apt-get \\\\update &&   apt-get \\\\\\"install znc -y"',
    'add "\\\\conf\\\\\\\\\\"" "/.znc"',
    'run "foo bar baz"',
    'cmd json "/usr\\\\\\"/bin/znc" "-f" "-r"',
  ]);
});

test('ENV and LABEL: KEY=VALUE pairs with quotes kept, or the legacy KEY VALUE form (env)', () => {
  const p = parse([
    'FROM ubuntu',
    'ENV name value',
    'ENV name=value',
    'ENV name=value name2=value2',
    'ENV name="value value1"',
    'ENV name=value\\ value2',
    'ENV name="value\'quote space\'value2"',
    'ENV name=\'value"double quote"value2\'',
    'ENV name=value\\ value2 name2=value2\\ value3',
    'ENV name="a\\"b"',
    'ENV name="a\\\'b"',
    'ENV name=\'a\\\'b\'',
    'ENV name=\'a\\\'b\'\'',
    'ENV name=\'a\\"b\'',
    'ENV name="\'\'"',
    'ENV SCUBA 1 DUBA 3',
    'ENV SCUBA "1 DUBA 3"',
    'LABEL maintainer James Turnbull "james@example.com"',
    'LABEL\tmaintainer\tSeongyeol Lim <seongyeol37@gmail.com>',
    '# the last line ends with a continuation, as in the original test file',
    'ENV name=value \\',
    '    name1=value1 \\',
    '    name2="value2a \\',
    '           value2b" \\',
    '    name3="value3a\\n\\"value3b\\"" \\',
    '\tname4="value4a\\\\nvalue4b" \\',
  ].join('\n'));
  assert.deepEqual(dump(p).slice(1), [
    'env "name" "value"',
    'env "name" "value"',
    'env "name" "value" "name2" "value2"',
    'env "name" "\\"value value1\\""',
    'env "name" "value\\\\ value2"',
    'env "name" "\\"value\'quote space\'value2\\""',
    'env "name" "\'value\\"double quote\\"value2\'"',
    'env "name" "value\\\\ value2" "name2" "value2\\\\ value3"',
    'env "name" "\\"a\\\\\\"b\\""',
    'env "name" "\\"a\\\\\'b\\""',
    'env "name" "\'a\\\\\'b\'"',
    'env "name" "\'a\\\\\'b\'\'"',
    'env "name" "\'a\\\\\\"b\'"',
    'env "name" "\\"\'\'\\""',
    'env "SCUBA" "1 DUBA 3"',
    'env "SCUBA" "\\"1 DUBA 3\\""',
    'label "maintainer" "James Turnbull \\"james@example.com\\""',
    'label "maintainer" "Seongyeol Lim <seongyeol37@gmail.com>"',
    'env "name" "value" "name1" "value1" "name2" "\\"value2a            value2b\\"" "name3" "\\"value3a\\\\n\\\\\\"value3b\\\\\\"\\"" "name4" "\\"value4a\\\\\\\\nvalue4b\\""',
  ]);
  // the same continuation followed by another instruction runs into it, as podman joins it
  rejects('FROM a\nENV name=value \\\nENV SCUBA 1', 'E_BAD_INPUT', /^Containerfile:2: syntax error - can't find = in "ENV"/);
  rejects('FROM a\nENV PATH', 'E_BAD_INPUT', /^Containerfile:2: ENV must have two arguments$/);
  rejects('FROM a\nENV a=b c', 'E_BAD_INPUT', /^Containerfile:2: syntax error - can't find = in "c"/);
});

test('builder flags are split off every instruction; `--` ends them (flags)', () => {
  const p = parse([
    'FROM scratch',
    'COPY foo /tmp/',
    'COPY --user=me foo /tmp/',
    'COPY --doit=true foo /tmp/',
    'COPY --user=me --doit=true foo /tmp/',
    'COPY --doit=true -- foo /tmp/',
    'COPY -- foo /tmp/',
    'CMD --doit [ "a", "b" ]',
    'CMD --doit=true -- [ "a", "b" ]',
    'CMD --doit -- [ ]',
    'COPY --chown="a b" --from=\'x y\' --chmod=7\\55 src dst',
  ].join('\n'));
  assert.deepEqual(dump(p), [
    'from "scratch"',
    'copy "foo" "/tmp/"',
    'copy ["--user=me"] "foo" "/tmp/"',
    'copy ["--doit=true"] "foo" "/tmp/"',
    'copy ["--user=me","--doit=true"] "foo" "/tmp/"',
    'copy ["--doit=true"] "foo" "/tmp/"',
    'copy "foo" "/tmp/"',
    'cmd ["--doit"] json "a" "b"',
    'cmd ["--doit=true"] json "a" "b"',
    'cmd ["--doit"] json',
    'copy ["--chown=a b","--from=x y","--chmod=755"] "src" "dst"',
  ]);
  rejects('FROM a\nCOPY --chown=ü a b', 'E_UNSUPPORTED', /^Containerfile:2: non-ASCII character in a builder flag$/);
});

test('exec form is Go JSON read up to the end of the first value; anything else is shell form (json, jeztah-*)', () => {
  const p = parse([
    'FROM x',
    'CMD []',
    'CMD [""]',
    'CMD ["a"]',
    'CMD ["a","b"]',
    'CMD [ "a", "b" ]',
    'CMD [\t"a",\t"b"\t]',
    'CMD\t[\t"a",\t"b"\t]\t',
    'CMD ["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]',
    'CMD \'["echo", "Well, JSON in a string is JSON too?"]\'',
    'CMD "[\\"echo\\", \\"Phew, I just managed to escaped those double quotes\\"]"',
    'CMD [\'echo\',\'single quotes are invalid JSON\']',
    'CMD ["echo", "Please, close the brackets when you\'re done"',
    'CMD ["echo", "look ma, no quote!]',
    'CMD ["a"] trailing words are ignored by Go\'s json.Decoder',
    'CMD ["a",]',
    'CMD [1e400]',
    'CMD ["\\ud800\\udc00", "\\ud800x", "\\udc00\\ud83d\\ude00"]',
    'ENTRYPOINT [ "/usr/bin/redis-server" ]',
    'RUN ["ls", "-la"]',
    'RUN ["echo", "\'1234\'"]',
    'RUN    sh -c \'echo root:testpass \\',
    '        > /tmp/passwd\'',
    'VOLUME ["/test", "/test2"]',
    'VOLUME /test3 /test4',
    'COPY\t[ "test file", "/tmp" ]',
    'ADD\t\t.\t/',
  ].join('\n'));
  assert.deepEqual(dump(p).slice(1), [
    'cmd json',
    'cmd json ""',
    'cmd json "a"',
    'cmd json "a" "b"',
    'cmd json "a" "b"',
    'cmd json "a" "b"',
    'cmd json "a" "b"',
    'cmd json "abc 123" "♥" "☃" "\\" \\\\ / \\b \\f \\n \\r \\t \\u0000"',
    'cmd "\'[\\"echo\\", \\"Well, JSON in a string is JSON too?\\"]\'"',
    'cmd "\\"[\\\\\\"echo\\\\\\", \\\\\\"Phew, I just managed to escaped those double quotes\\\\\\"]\\""',
    'cmd "[\'echo\',\'single quotes are invalid JSON\']"',
    'cmd "[\\"echo\\", \\"Please, close the brackets when you\'re done\\""',
    'cmd "[\\"echo\\", \\"look ma, no quote!]"',
    'cmd json "a"',
    'cmd "[\\"a\\",]"',
    // a number too large for a float64 fails Go's decode, so this is shell form
    'cmd "[1e400]"',
    // lone escaped surrogates become U+FFFD, as Go decodes them
    'cmd json "𐀀" "�x" "�😀"',
    'entrypoint json "/usr/bin/redis-server"',
    'run json "ls" "-la"',
    'run json "echo" "\'1234\'"',
    'run "sh -c \'echo root:testpass         > /tmp/passwd\'"',
    'volume json "/test" "/test2"',
    'volume "/test3" "/test4"',
    'copy json "test file" "/tmp"',
    'add "." "/"',
  ]);
  rejects('FROM x\nCMD [1]', 'E_BAD_INPUT', /^Containerfile:2: when using JSON array syntax, arrays must be comprised of strings only$/);
  rejects('FROM x\nRUN ["a", null]', 'E_BAD_INPUT', /^Containerfile:2: when using JSON/);
  rejects('FROM x\nCOPY ["a", {"b": 1}]', 'E_BAD_INPUT', /^Containerfile:2: when using JSON/);
  // nesting deeper than Go's 10000 levels is a decode error, so shell form; 10000 is still JSON
  const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(parse(`FROM x\nCMD ${deep(10001)}`).instructions[1]!.json, false);
  rejects(`FROM x\nCMD ${deep(10000)}`, 'E_BAD_INPUT', /arrays must be comprised of strings only/);
});

test('comments, blank lines, a continuation open at the end of the file, CRLF, BOM, case-insensitive keywords', () => {
  assert.deepEqual(dump(parse('FROM mirror.gcr.io/alpine:3.5\n\nRUN something \\')), ['from "mirror.gcr.io/alpine:3.5"', 'run "something"']);
  const p = parse('\ufeff# comment \\\n  # indented comment \\\nfrom a AS b\r\n\r\nRun echo \\\r\n  hi\r\ncOpY x y\r\n    LABEL a=b');
  assert.deepEqual(dump(p), ['from "a" "AS" "b"', 'run "echo   hi"', 'copy "x" "y"', 'label "a" "b"']);
  assert.deepEqual(p.instructions.map((i) => i.line), [3, 5, 7, 8]);
  // the BOM is dropped only at the start of the file
  rejects('FROM a\n\ufeffRUN x', 'E_BAD_INPUT', /^Containerfile:2: unknown instruction "\ufeffRUN"$/);
  // Go lowers U+0130 to i: podman reads this as WORKDIR
  assert.equal(parse('FROM a\nWORKD\u0130R /x').instructions[1]!.command, 'workdir');
  // NBSP is white space for Go's TrimSpace but not for the keyword split
  rejects('FROM a\nRUN\u00a0x', 'E_BAD_INPUT', /unknown instruction "RUN\u00a0x"/);
});

test('original text is kept as buildah records it in the history', () => {
  const p = parse('FROM a\n   RUN  echo hi  \nrun ["a"]  \nRUN --network=none apt-get \\\n    update  \\  \n  && true\nLABEL  x="1" \\\n  # note\n  y=2');
  assert.deepEqual(p.instructions.map((i) => i.original), [
    'FROM a',
    'RUN  echo hi  ',
    'run ["a"]  ',
    'RUN --network=none apt-get     update    && true',
    'LABEL  x="1"   y=2',
  ]);
  // buildah's RUN history is '/bin/sh -c ' + original[4:]
  assert.equal(p.instructions[1]!.original.slice(4), ' echo hi  ');
  assert.deepEqual(p.instructions[3]!.flags, ['--network=none']);
  assert.deepEqual(p.instructions[3]!.args, ['apt-get     update    && true']);
});

test('ARG words, with quotes kept (args)', () => {
  const p = parse('ARG foo bar=baz\nFROM ubuntu\nARG abc="123 456" def');
  assert.deepEqual(dump(p), ['arg "foo" "bar=baz"', 'from "ubuntu"', 'arg "abc=\\"123 456\\"" "def"']);
});

test('instructions we do not build are refused with their line', () => {
  rejects('FROM a\nONBUILD RUN x', 'E_UNSUPPORTED', /^Containerfile:2: ONBUILD is not supported$/);
  rejects('FROM a\n\nhealthcheck CMD true', 'E_UNSUPPORTED', /^Containerfile:3: HEALTHCHECK is not supported$/);
  rejects('FROM a\nSHELL ["/bin/bash", "-c"]', 'E_UNSUPPORTED', /^Containerfile:2: SHELL is not supported$/);
  rejects('FROM a\nMAINTAINER me', 'E_UNSUPPORTED', /^Containerfile:2: MAINTAINER is not supported$/);
  rejects('FROM a\nRUN <<EOF\necho hi\nEOF', 'E_UNSUPPORTED', /^Containerfile:2: heredocs \(<<\) are not supported$/);
  rejects('FROM a\nCOPY <<-"EOT" /x', 'E_UNSUPPORTED', /^Containerfile:2: heredocs/);
  rejects('FROM a\nRUN cat 3<<x', 'E_UNSUPPORTED', /^Containerfile:2: heredocs/);
  // not heredocs for imagebuilder: quoted, a here-string, a shift inside a word, JSON form
  assert.equal(parse('FROM a\nRUN echo "<<EOF" && cat <<< x && echo $((1<<2))\nRUN ["cat", "<<EOF"]').instructions.length, 3);
  rejects('FROM a\nFOO bar', 'E_BAD_INPUT', /^Containerfile:2: unknown instruction "FOO"$/);
  rejects('FROM a\n\\', 'E_BAD_INPUT', /^Containerfile:2: an empty instruction$/);
  rejects('RUN x\nFROM a', 'E_BAD_INPUT', /^Containerfile:1: RUN before the first FROM/);
  rejects('ARG a\n# only\n', 'E_BAD_INPUT', /^Containerfile: no FROM instruction$/);
  rejects('', 'E_BAD_INPUT', /^Containerfile: no FROM instruction$/);
});

test('hostile input: size caps, invalid UTF-8, pathological lines stay linear', () => {
  rejects(`FROM a\n${'#'.repeat(1024 * 1024)}`, 'E_BAD_INPUT', /^Containerfile: 1048583 bytes, more than the 1048576 a Containerfile may have$/);
  rejects(`FROM a\nRUN ${'x'.repeat(300 * 1024)}`, 'E_BAD_INPUT', /^Containerfile:2: instruction longer than 262144 characters$/);
  rejects(`FROM a\nRUN a \\\n${`${'b'.repeat(20)}\\\n`.repeat(15_000)}`, 'E_BAD_INPUT', /^Containerfile:2: instruction longer than/);
  assert.throws(() => parseContainerfile(Buffer.from([...Buffer.from('FROM a\nRUN x\nRUN '), 0xc3, 0x28, 0x0a]), 'Containerfile'),
    /^ReproError: Containerfile:3: not valid UTF-8$/);
  const start = process.hrtime.bigint();
  parse(`FROM a\nENV ${'a="\\" '.repeat(20_000)}=x\nRUN ${'['.repeat(100_000)}\nCOPY ${'"'.repeat(200_000)} x`);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(ms < 3000, `pathological lines took ${ms} ms`);
});
