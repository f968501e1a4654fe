/** docs/attestation-schema.json, compiled once with ajv: the errors of a Statement against it (none: valid). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';

export const ATTESTATION_SCHEMA = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/attestation-schema.json');
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null } };
const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(ATTESTATION_SCHEMA, 'utf8')) as object);

export function schemaErrors(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
