#!/usr/bin/env bash
# Builds, once, a Debian bookworm root file system tarball and prints its path on stdout:
# mmdebstrap's "essential" variant (the Essential: yes packages: bash, coreutils, sed, tar, libc-bin's
# ldconfig, ...) plus zstd, which GNU tar needs to read .tar.zst, and attr's setfattr; 145 MB. The
# podman ground-truth test (test/podman/) makes its Debian base image from it and uses it as the
# root file system of its Arch-shaped build.
#
# The tarball is reproducible: SOURCE_DATE_EPOCH is fixed (1600000000, older than the builds'
# 1700000000, so that clamping shows); only the bookworm suite is used (no -updates, no -security:
# its packages change only at a point release, and bookworm has had its last); the two files
# mmdebstrap copies from the host (/etc/hostname, /etc/resolv.conf) are removed, and so are the
# device nodes (see below). Two runs here gave the same SHA-256. The test records the digest it
# expects and skips the Debian-dependent comparisons, saying so, when the mirror has moved on.
#
# Cache: $REPRO_CI_CACHE (default /var/cache/repro-image-ci), keyed by this script's SHA-256.
# Measured: 20 to 90 s here (the mirror's speed varies through the day).
set -euo pipefail

mirror=${REPRO_CI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${REPRO_CI_CACHE:-/var/cache/repro-image-ci}
self=$(readlink -f "$0")
key=$(sha256sum "$self" | cut -c1-16)
out=$cache/debian-rootfs-$key.tar

if [ -e "$out" ]; then
  echo "$out"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "debian-rootfs.sh: must run as root (mmdebstrap --mode=root)" >&2
  exit 2
fi
if ! command -v mmdebstrap >/dev/null; then
  echo "debian-rootfs.sh: installing mmdebstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
mkdir -p "$cache"
exec 9>"$cache/debian-rootfs.lock"
flock 9
if [ -e "$out" ]; then
  echo "$out"
  exit 0
fi
start=$(date +%s)
rm -f "$out.tmp"
SOURCE_DATE_EPOCH=1600000000 mmdebstrap --quiet --mode=root --format=tar --variant=essential \
  --include=zstd,attr --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Retries "3"' \
  --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf"' \
  bookworm "$out.tmp" "$mirror" >&2
# Device nodes: RUN under podman has no CAP_MKNOD, so GNU tar could not extract them ("Cannot
# mknod: Operation not permitted"); Arch's rootfs has none either. GNU tar --delete keeps the other
# members' bytes as they are.
tar -tvf "$out.tmp" | awk '$1 ~ /^[bc]/ { print $NF }' >"$out.devices"
tar --delete -f "$out.tmp" -T "$out.devices"
rm -f "$out.devices"
mv "$out.tmp" "$out"
echo "debian-rootfs.sh: built in $(( $(date +%s) - start )) s: $(sha256sum "$out" | cut -d' ' -f1)" >&2
echo "$out"
