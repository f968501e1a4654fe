/** Reads a disk definition file (the `disk:` section of a spec, on its own, for root filesystem builds). */
import { parse } from 'yaml';
import { ReproError } from '../model/errors.js';
import { diskSpec, type DiskSpec } from './disk-schema.js';
import { MAX_ALIAS_COUNT, readYamlFile, yamlLimitError } from './load.js';

export function parseDiskSpec(value: unknown, where: string): DiskSpec {
  const r = diskSpec.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.code === 'unrecognized_keys' ? `unknown key ${(i as { keys: string[] }).keys.join(', ')}` : i.message}`);
  if (problems.length === 1) throw new ReproError('E_SPEC', `${where}: ${problems[0]}`);
  throw new ReproError('E_SPEC', `${where}: ${problems.length} problems:\n  ${problems.join('\n  ')}`);
}

export function loadDiskSpec(path: string): DiskSpec {
  const text = readYamlFile(path, 'the disk definition');
  let value: unknown;
  try {
    value = parse(text, { uniqueKeys: true, maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError || e instanceof RangeError) throw yamlLimitError(e, path);
    throw new ReproError('E_SPEC', `${path}: ${String((e as Error).message).split('\n')[0]}`);
  }
  // A whole spec may be given: take its disk section.
  if (value && typeof value === 'object' && 'disk' in value && !('partitions' in value)) value = (value as { disk: unknown }).disk;
  return parseDiskSpec(value, path);
}
