/**
 * Platform matching as containerd normalises platforms: arm64 without a variant is arm64/v8, so an
 * arm64 image whose config leaves the variant out (common from `docker build`) is the image a
 * Debian arm64 spec (linux/arm64/v8) asks for, as a base and when picked from an index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { platformMatches } from '../../src/image/select.js';

test('platformMatches: arm64 without a variant is arm64/v8; other variants and architectures still differ', () => {
  assert.equal(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }), true);
  assert.equal(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }), true);
  assert.equal(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64', variant: 'v9' }), false);
  assert.equal(platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm' }), false);
  assert.equal(platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }), false);
  assert.equal(platformMatches({ os: 'linux', architecture: 'amd64' }, undefined), false);
});
