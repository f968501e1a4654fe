/** `build`: from a root filesystem (`rootfs`) or from a spec and its lock (`spec`). */
import { ReproError, option } from '../model/errors.js';
import { buildRootfs, type RootfsBuildOptions } from './rootfs.js';
import type { SpecBuildOptions } from './spec.js';
import type { BuildResult } from './tree-steps.js';

export type BuildOptions = RootfsBuildOptions | SpecBuildOptions;

export async function build(opts: BuildOptions): Promise<BuildResult & { lock?: { path: string; digest: string } }> {
  const hasRootfs = 'rootfs' in opts && opts.rootfs !== undefined;
  const hasSpec = 'spec' in opts && opts.spec !== undefined;
  if (hasRootfs === hasSpec) throw new ReproError('E_USAGE', `build: give either ${option('rootfs')} or ${option('spec')}`);
  if (typeof opts.output === 'string' && opts.output.startsWith('disk:')) throw new ReproError('E_USAGE', `build: ${option('output')} disk:FILE is written by buildDisk`);
  if (hasRootfs) return buildRootfs(opts as RootfsBuildOptions);
  // The spec modules (schema, YAML, OpenPGP) load only for a spec build.
  return (await import('./spec.js')).buildSpec(opts as SpecBuildOptions);
}
