/**
 * Reading SBOMs back with real consumers. CycloneDX: the official JSON schema (bom-1.6, with the
 * SPDX license list and JSF schemas it references) as shipped in @cyclonedx/cyclonedx-library,
 * compiled with ajv in strict draft-07 mode with ajv-formats, plus the library's own strict JSON
 * validator; every purl parsed by packageurl-js and every license expression by
 * spdx-expression-parse. SPDX: the SPDX project's own tool (pyspdxtools from Debian's
 * python3-spdx-tools, which .ci/run unpacks) parses the document and validates it against the
 * SPDX 2.3 specification; it prints nothing and exits 0 for a valid document.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';

const require = createRequire(import.meta.url);

/** Where .ci/run unpacks python3-spdx-tools (and python3-beartype) from Debian. */
export const PYSPDX = process.env['REPRO_PYSPDX'] ?? '/usr/local/lib/repro-image-test/pyspdx';

function schemaDir(): string {
  return join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res/schema');
}

// ajv and ajv-formats are CommonJS: their default export is the module object under Node's ESM.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as unknown as new (o: object) => AjvInstance;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (a: AjvInstance) => void;

interface Validate {
  (doc: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string }> | null;
}
interface AjvInstance {
  addSchema(schema: object, key: string): AjvInstance;
  addFormat(name: string, format: boolean): AjvInstance;
  compile(schema: object): Validate;
}

let compiled: Validate | undefined;

export function cyclonedxSchemaErrors(doc: unknown): string[] {
  if (!compiled) {
    const dir = schemaDir();
    // The library ships the schemas as *.SNAPSHOT.schema.json whose $ids are the published names;
    // the bom schema's references are pointed at those $ids.
    const load = (n: string): object => JSON.parse(readFileSync(join(dir, n), 'utf8').replace(/(spdx|jsf-0\.82)\.SNAPSHOT\.schema\.json/g, '$1.schema.json')) as object;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    // Formats of JSON Schema 2019 the CycloneDX schema uses, checked leniently by ajv-formats' neighbours.
    ajv.addFormat('idn-email', true).addFormat('iri-reference', true);
    ajv.addSchema(load('spdx.SNAPSHOT.schema.json'), 'spdx');
    ajv.addSchema(load('jsf-0.82.SNAPSHOT.schema.json'), 'jsf');
    compiled = ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));
  }
  return compiled(doc) ? [] : (compiled.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** The CycloneDX library's own strict validator (null: valid). */
export async function cyclonedxLibraryErrors(json: string): Promise<unknown> {
  const lib = await import('@cyclonedx/cyclonedx-library');
  const v = new lib.Validation.JsonStrictValidator(lib.Spec.Version.v1dot6);
  return v.validate(json);
}

export function checkPurlsAndLicenses(purls: string[], expressions: string[]): void {
  const { PackageURL } = require('packageurl-js') as { PackageURL: { fromString(s: string): { type: string; name: string; version?: string } } };
  const parse = require('spdx-expression-parse') as (s: string) => unknown;
  for (const p of purls) {
    const u = PackageURL.fromString(p);
    assert.ok(u.type && u.name && u.version, p);
  }
  for (const e of expressions) assert.doesNotThrow(() => parse(e), e);
}

/** pyspdxtools on a file: its output (empty when valid) and status. */
export function pyspdxtools(file: string): { status: number | null; output: string } {
  const tool = join(PYSPDX, 'usr/bin/pyspdxtools');
  assert.ok(existsSync(tool), `${tool} is missing: .ci/run unpacks Debian's python3-spdx-tools there (or set REPRO_PYSPDX)`);
  const r = spawnSync('/usr/bin/python3', [tool, '-i', file], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(PYSPDX, 'usr/lib/python3/dist-packages') } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
