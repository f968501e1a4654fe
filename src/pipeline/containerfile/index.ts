/**
 * Containerfiles parsed and evaluated as podman (buildah, openshift/imagebuilder) does; see
 * docs/containerfile.md for the supported subset and the exact rules.
 */
export { parseContainerfile } from './parse.js';
export { planStages, type PlanOptions } from './stages.js';
export { resolveContainerfile, makeAbsolute, nextWorkingDir, DEFAULT_PATH_ENV, type ResolveOptions } from './resolve.js';
export { processWord, processWords } from './substitute.js';
export { MAX_CONTAINERFILE_BYTES, MAX_LOGICAL_LINE } from './lexer.js';
export type * from './types.js';
