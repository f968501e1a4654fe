import { existsSync, readFileSync } from 'node:fs';
import { ReproError, ioError } from '../model/errors.js';
import { attestations, renderAttestations } from '../sbom/attestations.js';
import { verificationKey } from '../sbom/intoto.js';
import { parse, type Io } from './common.js';
import { REGISTRY_HELP, registryFlags, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const ATTESTATIONS_HELP = `Usage: repro-image attestations REF [--key [VERIFIER=]PUBKEY.pem]... [--json]

Lists the verification summaries (SLSA VSA v1, as 'verify --attach' writes them) attached to an
image as OCI 1.1 referrers (the registry's referrers API or its sha256-HEX fallback tag, an oci:
layout's index.json; through an index, those of each image), checks each and summarises the
independent verifiers: "3 independent verifiers reproduced this image (digest level), 0 failed".
With --key a verifier has a verifier id and a signing key of its own (one key signing for
several ids counts once, and so does one id signing with several keys); without, a verifier id.
A summary whose subject is another image, that is not an in-toto Statement, or whose signature
does not verify with a --key is reported INVALID and not counted; with --key, an unsigned one is
invalid too. Without --key, signatures are not checked.

  --key [VERIFIER=]FILE      a PEM public key (Ed25519 or ECDSA P-256) trusted to sign summaries
                             (DSSE envelopes); repeatable, one per rebuilder: each summary must be
                             signed by one of them. VERIFIER=FILE (a verifier id URI, e.g.
                             https://rebuild.example.org=their.pub) trusts the key for that
                             verifier's summaries only (an id with "=" in it, as a query has,
                             works: of the readings, the one whose file exists is taken)
  --json                     every summary read, with its verdict, and the counts
${REGISTRY_HELP}
  -h, --help                 this help

Exit codes: 0 listed (whatever the summaries say), 1 some summary is invalid, 2 bad usage or input,
3 I/O or network failure.`;

export const ATTESTATIONS_FLAGS = {
  key: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...registryFlags(''),
} as const;

export async function attestationsCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), ATTESTATIONS_FLAGS, 'attestations');
  if (v.help) {
    io.stdout(`${ATTESTATIONS_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new ReproError('E_USAGE', 'attestations: exactly one REF is required (see repro-image attestations --help)');
  const keys = (v.key ?? []).map((arg) => {
    const { file, verifierId } = keyArgument(arg, (p) => existsSync(p));
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (e) {
      throw ioError(e, `--key: cannot read ${file}`);
    }
    return { key: verificationKey(pem, file), ...(verifierId !== undefined ? { verifierId } : {}) };
  });
  const r = await attestations(positionals[0]!, { registry: registryOptions(v, io), ...(keys.length > 0 ? { keys } : {}) });
  io.stdout(v.json ? `${JSON.stringify(r, null, 2)}\n` : renderAttestations(r));
  return r.summary.invalid > 0 ? 1 : 0;
}

/**
 * `--key [VERIFIER=]FILE`: a verifier id is a URI (`scheme:…`, which may itself hold `=`, as a
 * query does) before an `=`; a file name rarely starts with `scheme:`. Of the readings, the one
 * whose file `exists`: a whole argument that is a file is a file; else the split whose file is
 * there; where none is, the split at the first `=` (whose file the caller then fails to read,
 * naming it). Two readings that both name a file are refused.
 */
export function keyArgument(arg: string, exists: (file: string) => boolean): { file: string; verifierId?: string } {
  const splits: Array<{ file: string; verifierId: string }> = [];
  for (let i = arg.indexOf('='); i > 0; i = arg.indexOf('=', i + 1)) {
    const verifierId = arg.slice(0, i);
    const file = arg.slice(i + 1);
    if (/^[A-Za-z][A-Za-z0-9+.-]*:./.test(verifierId) && file !== '') splits.push({ file, verifierId });
  }
  const readings: Array<{ file: string; verifierId?: string }> = [{ file: arg }, ...splits].filter((r) => exists(r.file));
  if (readings.length > 1) {
    throw new ReproError('E_USAGE', `--key ${JSON.stringify(arg)}: both ${readings.map((r) => JSON.stringify(r.file)).join(' and ')} are files; name the key file by a path without "="`);
  }
  return readings[0] ?? splits[0] ?? { file: arg };
}
