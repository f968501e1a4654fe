#!/usr/bin/env node
// repro-image as a library, used as a program that installed the package would use it:
//   node run.mjs SPEC.yaml ROOTFS-DIR WORK-DIR
// locks the spec (its mirrors and keyring as the spec says), fetches the locked packages, builds
// the image from the spec and another from a root filesystem, diffs the two with an HTML report,
// copies the first to an oci-archive, verifies the spec against both images, and prints what each
// step returned as one JSON document (the tests compare it with what the CLI prints).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  build, copy, diff, fetch, inspect, lock, renderDiffHtml, renderDiffJson, verify,
} from 'repro-image';

const [spec, rootfs, work] = process.argv.slice(2);
if (!spec || !rootfs || !work) {
  process.stderr.write('usage: node run.mjs SPEC.yaml ROOTFS-DIR WORK-DIR\n');
  process.exit(2);
}
const cacheDir = join(work, 'cache');

const locked = await lock({ spec, cacheDir });
const fetched = await fetch({ spec, cacheDir });
const fromSpec = await build({ spec, cacheDir, output: `oci:${join(work, 'images')}:spec` });
const fromRootfs = await build({ rootfs, sourceDateEpoch: 1700000000, output: `oci:${join(work, 'images')}:rootfs` });
const compared = await diff(`oci:${join(work, 'images')}:spec`, `oci:${join(work, 'images')}:rootfs`);
writeFileSync(join(work, 'report.html'), renderDiffHtml(compared));
const copied = await copy(`oci:${join(work, 'images')}:spec`, `oci-archive:${join(work, 'spec.tar')}:spec`);
const inspected = await inspect(`oci-archive:${join(work, 'spec.tar')}:spec`);
const same = await verify({ spec: { spec, cacheDir, offline: true }, against: `oci:${join(work, 'images')}:spec` });
const other = await verify({ spec: { spec, cacheDir, offline: true }, against: `oci:${join(work, 'images')}:rootfs` });

process.stdout.write(`${JSON.stringify({
  lock: { path: locked.path, summary: locked.summary, packages: locked.lock.packages.length },
  fetched: fetched.files.size,
  builds: { spec: fromSpec.manifest.digest, rootfs: fromRootfs.manifest.digest },
  diff: JSON.parse(renderDiffJson(compared)),
  copy: { digest: copied.digest, digestKept: copied.digestKept },
  inspect: { problems: inspected.problems, blobsVerified: inspected.blobsVerified },
  verify: {
    same: { verdict: same.verdict, findings: same.findings },
    other: { verdict: other.verdict, findings: other.findings },
  },
}, null, 2)}\n`);
