import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goFloat64, goJson, goJsonBytes, goJsonString, goMap } from '../../src/model/go-json.js';

// Expected bytes below follow encoding/json's encode.go (appendString, floatEncoder, map key
// sorting); the last tests compare with a real Go toolchain.

test('every escape class of Go strings', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['"', '"\\""'],
    ['\\', '"\\\\"'],
    ['\n\r\t', '"\\n\\r\\t"'],
    ['\b\f', '"\\b\\f"'],
    ['\u0000\u0001\u001f', '"\\u0000\\u0001\\u001f"'],
    ['\u000b\u000e\u001a', '"\\u000b\\u000e\\u001a"'],
    ['<a href="x">&</a>', '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['\u007f', '"\u007f"'],
    ['/', '"/"'],
    ['\u0080\u00e9\u200b\ufeff', '"\u0080\u00e9\u200b\ufeff"'],
    ['\ufffd', '"\ufffd"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\ud800', '"\\ufffd"'],
    ['a\udc00b', '"a\\ufffdb"'],
    ['\udc00\ud800', '"\\ufffd\\ufffd"'],
    ['\ud83d\ude00\ud83d', '"\u{1F600}\\ufffd"'],
    ['Santiago <santiago@archlinux.org> (@x)', '"Santiago \\u003csantiago@archlinux.org\\u003e (@x)"'],
  ];
  for (const [input, expected] of cases) assert.equal(goJsonString(input), expected, JSON.stringify(input));
  assert.equal(goJsonString('\b\f', { go121Escapes: true }), '"\\u0008\\u000c"');
});

test('struct fields keep their order, Go maps are sorted by UTF-8 bytes, undefined fields are left out', () => {
  const config = {
    created: '2026-03-31T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'],
      Cmd: ['/usr/bin/bash'],
      Labels: goMap({ 'org.opencontainers.image.version': '1', 'org.opencontainers.image.authors': 'x <y>' }),
      WorkingDir: '/',
      User: undefined,
    },
    rootfs: { type: 'layers', diff_ids: ['sha256:00'] },
  };
  assert.equal(goJson(config),
    '{"created":"2026-03-31T00:00:00Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin","LANG=C.UTF-8"],'
    + '"Cmd":["/usr/bin/bash"],"Labels":{"org.opencontainers.image.authors":"x \\u003cy\\u003e","org.opencontainers.image.version":"1"},'
    + '"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:00"]}}');
  // UTF-16 order would put U+FF21 after U+1F600's surrogates (0xD83D < 0xFF21); UTF-8 byte order puts it first.
  assert.equal(goJson(goMap({ '\u{1F600}': 1, '\uff21': 2, b: 3, B: 4, '': 5 })), '{"":5,"B":4,"b":3,"Ａ":2,"😀":1}');
  assert.equal(goJson(goMap({ '80/tcp': {}, '443/tcp': {} })), '{"443/tcp":{},"80/tcp":{}}');
  assert.equal(goJson(goMap({ '<': '&' })), '{"\\u003c":"\\u0026"}');
});

test('nil and empty are the caller\'s choice; booleans', () => {
  assert.equal(goJson({ a: null, b: [], c: {}, d: goMap({}), e: true, f: false }), '{"a":null,"b":[],"c":{},"d":{},"e":true,"f":false}');
});

test('integers as int64/uint64, floats only through goFloat64 and written as Go writes them', () => {
  assert.equal(goJson([0, -0, 1, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]), '[0,0,1,-1,9007199254740991,-9007199254740991]');
  assert.equal(goJson([-(2n ** 63n), 2n ** 64n - 1n, 0n]), '[-9223372036854775808,18446744073709551615,0]');
  assert.throws(() => goJson(2n ** 64n), /fits neither int64 nor uint64/);
  assert.throws(() => goJson(-(2n ** 63n) - 1n), /fits neither/);
  assert.throws(() => goJson(1.5), /not a safe integer/);
  assert.throws(() => goJson(2 ** 53), /not a safe integer/);
  const floats: [number, string][] = [
    [0, '0'], [-0, '-0'], [1, '1'], [-2.5, '-2.5'], [0.1, '0.1'], [1e20, '100000000000000000000'], [1e21, '1e+21'],
    [123456789e15, '1.23456789e+23'], [1e-6, '0.000001'], [1e-7, '1e-7'], [1.5e-10, '1.5e-10'], [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [2 ** 60, '1152921504606847000'], [0.000123, '0.000123'],
  ];
  for (const [f, expected] of floats) assert.equal(goJson(goFloat64(f)), expected, String(f));
  assert.throws(() => goJson(goFloat64(NaN)), /unsupported value: NaN/);
  assert.throws(() => goJson(goFloat64(-Infinity)), /unsupported value/);
});

test('values with no single Go meaning are refused', () => {
  assert.throws(() => goJson(new Date(0)), /Date has no single Go encoding/);
  assert.throws(() => goJson(new Map()), /Map has no single Go encoding/);
  assert.throws(() => goJson(Buffer.from('x')), /has no single Go encoding/);
  assert.throws(() => goJson([undefined]), /undefined has no Go value/);
  assert.throws(() => goJson(goMap({ a: undefined })), /undefined has no Go value/);
  assert.throws(() => goJson(() => 1), /function has no Go encoding/);
  let deep: unknown = 'x';
  for (let i = 0; i < 1100; i++) deep = [deep];
  assert.throws(() => goJson(deep), /nested more than 1000 levels/);
  assert.deepEqual(goJsonBytes({ a: '\u00e9' }), Buffer.from('{"a":"é"}', 'utf8'));
});

// ---- against a real Go ----

function goToolchain(): { version: [number, number] } {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    assert.fail('the Go toolchain is needed for this test: apt-get install golang-go');
  }
  const m = /go(\d+)\.(\d+)/.exec(r.stdout);
  assert.ok(m, `unexpected go version output: ${r.stdout}`);
  return { version: [Number(m[1]), Number(m[2])] };
}

function randomString(r: () => number): string {
  const classes: (() => number)[] = [
    () => Math.floor(r() * 0x80), // ASCII, controls and HTML characters included
    () => [0x22, 0x5c, 0x3c, 0x3e, 0x26, 0x08, 0x0c, 0x7f, 0x2028, 0x2029, 0xfffd, 0xfeff][Math.floor(r() * 12)]!,
    () => 0x80 + Math.floor(r() * 0x780),
    () => 0x800 + Math.floor(r() * (0xd800 - 0x800)),
    () => 0xe000 + Math.floor(r() * 0x2000),
    () => 0x10000 + Math.floor(r() * 0x100000),
  ];
  const n = Math.floor(r() * 24);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCodePoint(classes[Math.floor(r() * classes.length)]!());
  return s;
}

const GO_PROGRAM = `package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

type image struct {
	Created string            \`json:"created"\`
	Labels  map[string]string \`json:"Labels,omitempty"\`
	Env     []string          \`json:"Env"\`
	Ports   map[string]struct{} \`json:"ExposedPorts,omitempty"\`
	Size    int64             \`json:"size"\`
}

func out(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	os.Stdout.Write(append(b, '\\n'))
}

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		kind, arg, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "s":
			out(unhex(arg))
		case "m":
			m := map[string]int{}
			for i, k := range strings.Split(arg, ",") {
				m[unhex(k)] = i
			}
			out(m)
		case "f":
			bits, _ := strconv.ParseUint(arg, 16, 64)
			out(math.Float64frombits(bits))
		case "i":
			n, _ := strconv.ParseInt(arg, 10, 64)
			out(n)
		case "u":
			n, _ := strconv.ParseUint(arg, 10, 64)
			out(n)
		case "struct":
			out(image{Created: "2026-03-31T00:00:00Z", Labels: map[string]string{"b<": "&", "a": "x\\u2028"}, Env: nil, Ports: map[string]struct{}{"80/tcp": {}, "443/tcp": {}}, Size: -1})
		}
	}
}
`;
import { rng } from '../helpers/rng.js';

test('goJson equals Go json.Marshal on hundreds of generated strings, maps and floats', { timeout: 120_000 }, () => {
  const { version } = goToolchain();
  const legacy = version[0] === 1 && version[1] < 22; // \b and \f became short escapes in Go 1.22
  const dir = mkdtempSync(join(tmpdir(), 'go-json-'));
  try {
    writeFileSync(join(dir, 'main.go'), GO_PROGRAM);
    const env = { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'off', GOTOOLCHAIN: 'local', GOFLAGS: '' };
    const built = spawnSync('go', ['build', '-o', join(dir, 'marshal'), join(dir, 'main.go')], { env, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);

    const r = rng(20260331);
    const lines: string[] = [];
    const expected: string[] = [];
    const opts = { go121Escapes: legacy };
    for (let i = 0; i < 400; i++) {
      const s = randomString(r);
      lines.push(`s ${Buffer.from(s, 'utf8').toString('hex')}`);
      expected.push(goJson(s, opts));
    }
    for (let i = 0; i < 60; i++) {
      const keys = [...new Set(Array.from({ length: 1 + Math.floor(r() * 6) }, () => randomString(r)))];
      lines.push(`m ${keys.map((k) => Buffer.from(k, 'utf8').toString('hex')).join(',')}`);
      expected.push(goJson(goMap(Object.fromEntries(keys.map((k, j) => [k, j]))), opts));
    }
    const view = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 300; i++) {
      // random bit patterns (all exponents), plus decimal-looking values near the format switches
      let f: number;
      if (i % 3 === 0) {
        view.setUint32(0, Math.floor(r() * 2 ** 32));
        view.setUint32(4, Math.floor(r() * 2 ** 32));
        f = view.getFloat64(0);
        if (!Number.isFinite(f)) continue;
      } else if (i % 3 === 1) {
        f = Number((r() * 10).toFixed(Math.floor(r() * 8))) * 10 ** (Math.floor(r() * 50) - 25);
      } else {
        f = (r() < 0.5 ? -1 : 1) * Math.floor(r() * 2 ** 53);
      }
      view.setFloat64(0, f);
      lines.push(`f ${view.getBigUint64(0).toString(16)}`);
      expected.push(goJson(goFloat64(f), opts));
    }
    for (const n of [0n, -1n, 9223372036854775807n, -9223372036854775808n]) {
      lines.push(`i ${n}`);
      expected.push(goJson(n, opts));
    }
    lines.push('u 18446744073709551615');
    expected.push(goJson(18446744073709551615n, opts));
    lines.push('struct');
    expected.push(goJson({
      created: '2026-03-31T00:00:00Z',
      Labels: goMap({ 'b<': '&', a: 'x\u2028' }),
      Env: null,
      ExposedPorts: goMap({ '80/tcp': {}, '443/tcp': {} }),
      size: -1,
    }, opts));

    const run = spawnSync(join(dir, 'marshal'), [], { input: Buffer.from(`${lines.join('\n')}\n`), maxBuffer: 64 << 20 });
    assert.equal(run.status, 0, run.stderr.toString());
    const got = run.stdout.toString('utf8').split('\n');
    got.pop();
    assert.equal(got.length, expected.length);
    for (let i = 0; i < expected.length; i++) assert.equal(expected[i], got[i], `case ${i}: ${lines[i]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
