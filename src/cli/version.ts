import { hostInfo } from '../verify/host.js';
import { ReproError } from '../model/errors.js';
import { parse, type Io } from './common.js';

export const VERSION_HELP = `Usage: repro-image version [--json]
       repro-image --version

Prints the version. 'repro-image version' also says what this host gives: the Node.js version,
which deflate produces gzip layers (both give the same bytes), and whether the two native addons
were built: zstd (zstd layers, written and read) and fs-xattr (extended attributes of directory
inputs).

  --json                     the same as JSON

Exit codes: 0.`;

export const VERSION_FLAGS = { json: { type: 'boolean' } } as const;

export async function versionCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(args, VERSION_FLAGS, 'version');
  if (positionals.length > 0) throw new ReproError('E_USAGE', 'version: takes no arguments (see repro-image version --help)');
  const h = await hostInfo();
  if (v.json) {
    io.stdout(`${JSON.stringify(h, null, 2)}\n`);
    return 0;
  }
  io.stdout([
    `${h.name} ${h.version}`,
    `node ${h.node} (${h.platform})`,
    `gzip: ${h.deflate === 'native' ? "Node's zlib (checked to give the reference bytes)" : 'pako 3.0.3 (the reference; this Node\'s zlib gives other bytes)'}`,
    `zstd: ${h.zstd !== null ? `libzstd ${h.zstd} (zstd-napi)` : 'not available: the zstd-napi addon is not built (zstd layers can be neither written nor read)'}`,
    `xattrs: ${h.xattrs ? 'fs-xattr' : 'not available: the fs-xattr addon is not built (extended attributes of directory inputs are not read)'}`,
    '',
  ].join('\n'));
  return 0;
}
