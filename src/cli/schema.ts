import { jsonSchema } from '../spec/schema.js';
import type { Io } from './common.js';

export function schemaCommand(args: string[], io: Io): number {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout('Usage: repro-image schema\n\nPrints the JSON Schema of image.yaml (the same definition the validator uses).\n');
    return 0;
  }
  io.stdout(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
  return 0;
}
