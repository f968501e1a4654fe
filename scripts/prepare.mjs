#!/usr/bin/env node
// npm's prepare step: builds dist/. npm runs it for `npm pack`, for `npm install` in a checkout,
// and in the clone of a git dependency. Where a clone is prepared without its devDependencies
// (some npm versions do, see npm/cli#8440), TypeScript is installed first — locally, from the
// lock, without install scripts — and the build then runs as usual. (`npm install -g git+URL`
// itself is still broken by that bug on npm 11: README, "Install", gives the two-step way.)
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

function run(args) {
  const r = spawnSync('npm', args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync('node_modules/typescript/bin/tsc')) {
  run(['install', '--global=false', '--include=dev', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund']);
}
run(['run', 'build']);
