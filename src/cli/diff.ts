import { parseSourceDateEpoch } from '../pipeline/epoch.js';
import { diff, DEFAULT_MAX_CONTENT_DIFF } from '../diff/image-diff.js';
import { FIELD_GROUPS, SEMANTIC_IGNORES } from '../diff/options.js';
import { renderHtml } from '../diff/render-html.js';
import { renderJson } from '../diff/render-json.js';
import { renderText } from '../diff/render-text.js';
import { ReproError } from '../model/errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { toolInfo } from '../verify/tool.js';
import { parse, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags, sideFlags, sideRegistryHelp } from './registry-flags.js';

export const DIFF_HELP = `Usage: repro-image diff A B [options]

Shows where two images differ: index, manifest, config, layers and every tar entry, each
difference under a named finding that says what usually causes it.
A and B: any image reference (see 'repro-image --help': oci:, oci-archive:, docker-archive:, dir:,
containers-storage:, docker://), a directory holding an OCI layout, or a root filesystem (a
directory, or a .tar, .tar.gz or .tar.zst) that is compared as one layer.

  --semantic                 ignore what diffoci --semantic ignores: ${SEMANTIC_IGNORES.join(', ')}
  --ignore FIELD             ignore a field (repeatable): an entry field (mtime, mode, uid, xattrs,
                             content, order, ...), a group (${Object.keys(FIELD_GROUPS).join(', ')}),
                             or a JSON path such as config.config.Env
  --ignore-path GLOB         ignore entries whose path matches (repeatable), e.g. 'var/log/**'
  --platform OS/ARCH[/VAR]   the platform to compare in multi-platform images (default, when
                             both are indexes: every platform; one in only one index is a
                             'platforms' difference, the others are located 'platform P / ...')
  --format text|json         report on stdout (default text); json: see docs/diff.md
  --html FILE                also write a self-contained HTML report
  --max-content-diff BYTES   bytes of a file's content diffed, and the most one diff may take
                             (default ${DEFAULT_MAX_CONTENT_DIFF})
  --source-date-epoch N      for the "mtime newer than SOURCE_DATE_EPOCH" finding (default: the
                             older of the two images' created times)
${REGISTRY_HELP}
                             (these: for both A and B)
${sideRegistryHelp(['a', 'b'], ['A', 'B'])}
  -h, --help                 this help

Exit codes: 0 identical, 1 different, 2 bad usage or bad input, 3 I/O failure.`;

export const DIFF_FLAGS = {
  semantic: { type: 'boolean' },
  ignore: { type: 'string', multiple: true },
  'ignore-path': { type: 'string', multiple: true },
  platform: { type: 'string' },
  format: { type: 'string' },
  html: { type: 'string' },
  'max-content-diff': { type: 'string' },
  'source-date-epoch': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...registryFlags(''),
  ...registryFlags('a-'),
  ...registryFlags('b-'),
} as const;

export async function diffCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), DIFF_FLAGS, 'diff');
  if (v.help) {
    io.stdout(`${DIFF_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new ReproError('E_USAGE', 'diff: expected two inputs, A and B (see repro-image diff --help)');
  const format = v.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new ReproError('E_USAGE', `--format: expected text or json, got ${JSON.stringify(format)}`);
  let maxContentDiff = DEFAULT_MAX_CONTENT_DIFF;
  if (v['max-content-diff'] !== undefined) {
    if (!/^[1-9][0-9]*$/.test(v['max-content-diff'])) throw new ReproError('E_USAGE', `--max-content-diff: expected a positive whole number of bytes, got ${JSON.stringify(v['max-content-diff'])}`);
    maxContentDiff = Number(v['max-content-diff']);
  }
  const result = await diff(positionals[0]!, positionals[1]!, {
    semantic: v.semantic === true,
    ignore: v.ignore ?? [],
    ignorePaths: v['ignore-path'] ?? [],
    ...(v.platform !== undefined ? { platform: v.platform } : {}),
    maxContentDiff,
    ...(v['source-date-epoch'] !== undefined ? { sourceDateEpoch: parseSourceDateEpoch(v['source-date-epoch'], '--source-date-epoch') } : {}),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
    registryA: registryOptions(sideFlags(v, 'a-'), io),
    registryB: registryOptions(sideFlags(v, 'b-'), io),
  });
  if (v.html !== undefined) await writeFileAtomic(v.html, Buffer.from(renderHtml(result, { tool: toolInfo() }), 'utf8'));
  io.stdout(format === 'json' ? renderJson(result) : renderText(result));
  return result.identical ? 0 : 1;
}
