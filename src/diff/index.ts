/** The `diff` command as a library: compare two images, render the result. */
export { diff, DEFAULT_MAX_CONTENT_DIFF, type DiffOptions } from './image-diff.js';
export { renderText } from './render-text.js';
export { renderJson } from './render-json.js';
export { renderHtml } from './render-html.js';
export { FINDINGS } from './findings.js';
export { SEMANTIC_IGNORES, ENTRY_FIELDS, IMAGE_FIELDS, FIELD_GROUPS } from './options.js';
export { DIFF_SCHEMA_VERSION, type DiffResult, type Difference, type Finding, type Location, type ContentDetail, type SideSummary, type Value } from './types.js';
