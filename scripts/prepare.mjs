#!/usr/bin/env node
// npm's prepare step: builds dist/. npm runs it for `npm pack`, for `npm install` in a checkout,
// and in the clone of a git dependency. For `npm install -g git+URL`, npm prepares that clone
// without installing its devDependencies (npm/cli#8440: the global flag leaks into the inner
// install), so TypeScript is installed here first when it is missing — locally, from the lock,
// without install scripts — and the build then runs as usual.
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
