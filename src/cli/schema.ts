import { ReproError } from '../model/errors.js';
import { jsonSchema } from '../spec/schema.js';
import { parse, type Io } from './common.js';

export const SCHEMA_HELP = `Usage: repro-image schema

Prints the JSON Schema of image.yaml (the same definition the validator uses; also shipped as
docs/image-spec.schema.json). It is draft 2020-12 written with the keywords draft-07 shares, so
that ajv in strict mode, python-jsonschema and the YAML language server of editors all read it.

Exit codes: 0.`;

export const SCHEMA_FLAGS = {} as const;

export function schemaCommand(args: string[], io: Io): number {
  const { positionals } = parse(args, SCHEMA_FLAGS, 'schema');
  if (positionals.length > 0) throw new ReproError('E_USAGE', 'schema: takes no arguments (see repro-image schema --help)');
  io.stdout(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
  return 0;
}
