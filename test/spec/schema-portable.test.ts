/**
 * The spec's JSON Schema works where users put it (issue 15, defect 7): ajv in strict mode (draft
 * 2020-12, and draft-07 as the YAML language server of editors reads schemas), and
 * python-jsonschema; no format those validators do not know, no `$id` on a host that does not
 * exist. All three give the validator's verdict on good and bad specs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { jsonSchema } from '../../src/spec/schema.js';
import { parseSpec } from '../../src/spec/load.js';

const require = createRequire(import.meta.url);
type Validate = ((d: unknown) => boolean) & { errors?: unknown };
type AjvClass = new (o: object) => { compile: (s: object) => Validate };
const Ajv2020 = (require('ajv/dist/2020') as { default: AjvClass }).default;
const Ajv07 = (require('ajv') as { default: AjvClass }).default;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

const GOOD = [
  readFileSync(join(ROOT, 'examples/debian-minimal/image.yaml'), 'utf8'),
  `name: web
source: {distro: debian, suite: bookworm, mirrors: ["http://deb.debian.org/debian", "file:///srv/mirror"]}
packages: [nginx]
annotations: {org.opencontainers.image.source: "https://example.com/web"}
config:
  entrypoint: [nginx, -g, daemon off;]
  exposedPorts: ["80", "443/tcp", "53/udp"]
  volumes: [/var/cache/nginx]
  stopSignal: SIGQUIT
  workdir: /srv
files: [{src: motd, dest: /etc/motd, mode: "0644"}]
`,
  'name: arch\nsource: {distro: arch, snapshot: 2024/03/01}\npackages: [base]\n',
];
const BAD = [
  'name: x\nsource: {distro: debian, suite: bookworm, mirrors: ["ftp://example.com/debian"]}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\nconfig: {workdir: relative}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\nconfig: {exposedPorts: ["http"]}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\nconfig: {exposedPorts: ["70000"]}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\nconfig: {volumes: [data]}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\nconfig: {stopSignal: "kill -9"}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\nannotations: {a: 1}\n',
  'name: x\nsource: {distro: debian, suite: bookworm}\ncolour: red\n',
];

function validatorVerdict(text: string): boolean {
  try {
    parseSpec(text, 'spec.yaml');
    return true;
  } catch {
    return false;
  }
}

test('no $id, no format; the shipped file names draft 2020-12', () => {
  const s = jsonSchema() as Record<string, unknown>;
  const text = JSON.stringify(s);
  assert.equal(s['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  assert.equal('$id' in s, false);
  assert.doesNotMatch(text, /"format"/);
  // Only keywords draft-07 reads the same way.
  for (const k of ['prefixItems', 'unevaluatedProperties', 'unevaluatedItems', '$defs', 'dependentRequired', 'dependentSchemas', '$dynamicRef']) {
    assert.equal(text.includes(`"${k}"`), false, k);
  }
});

test('ajv strict (2020-12 and draft-07) and python-jsonschema agree with the validator', () => {
  const schema = jsonSchema() as Record<string, unknown>;
  const v2020 = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
  const { $schema: _s, ...rest } = schema;
  const v07 = new Ajv07({ strict: true, allErrors: true }).compile({ $schema: 'http://json-schema.org/draft-07/schema#', ...rest });
  const docs = [...GOOD.map((t) => [t, true] as const), ...BAD.map((t) => [t, false] as const)];
  for (const [text, good] of docs) {
    assert.equal(validatorVerdict(text), good, text);
    const doc = parseYaml(text) as unknown;
    assert.equal(v2020(doc), good, `ajv 2020-12: ${text} ${JSON.stringify(v2020.errors)}`);
    assert.equal(v07(doc), good, `ajv draft-07: ${text}`);
  }
  const py = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.Draft7Validator.check_schema(schema)
for doc in json.load(sys.stdin):
    print(int(jsonschema.Draft202012Validator(schema).is_valid(doc)), int(jsonschema.Draft7Validator(schema).is_valid(doc)))
`;
  const r = spawnSync('python3', ['-c', py, join(ROOT, 'docs/image-spec.schema.json')], { input: JSON.stringify(docs.map(([t]) => parseYaml(t) as unknown)), encoding: 'utf8' });
  assert.equal(r.status, 0, `python3 with jsonschema (Debian: python3-jsonschema): ${r.stderr}`);
  assert.deepEqual(r.stdout.trim().split('\n'), docs.map(([, good]) => (good ? '1 1' : '0 0')));
});
