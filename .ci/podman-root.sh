#!/usr/bin/env bash
# Builds, once, a Debian sid root file system holding podman (>= 5.6), buildah, skopeo and runc, and
# prints its path on stdout (progress goes to stderr). .ci/podman and .ci/podman-exec run the tools
# from it. Why a root and not the host's podman: bookworm's and trixie's podman (4.3 / 5.4) predate
# `--rewrite-timestamp` as the tests need it; sid has podman 5.8 / buildah 1.43.
#
# Cache: the finished root lives in $REPRO_CI_CACHE (default /var/cache/repro-image-ci) under a name
# keyed by this script's own SHA-256, so editing the script builds a new root and a second run is
# instant. A build goes to a temporary name and is renamed into place when complete; concurrent
# callers serialise on a lock file. Old roots (other keys) are left alone; delete them by hand.
#
# Measured on a 2-core CI machine: about 20 s to build (mmdebstrap, 108 packages, ~490 MB).
#
# Notes on the choices:
# - --variant=essential + the four tools: mmdebstrap installs Depends only (no Recommends), so no
#   fuse-overlayfs, slirp4netns or passt; the tests use the vfs storage driver and --network=none.
# - Acquire::Check-Valid-Until "false": sid's Release file carries a Valid-Until that reads as
#   expired against these machines' clocks.
# - The tool configuration (vfs storage, cgroupfs, no events, runc) is written into the root's
#   /etc/containers so podman, buildah and skopeo agree on one store; .ci/podman passes the same
#   settings as flags too.
set -euo pipefail

mirror=${REPRO_CI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${REPRO_CI_CACHE:-/var/cache/repro-image-ci}
self=$(readlink -f "$0")
key=$(sha256sum "$self" | cut -c1-16)
root=$cache/podman-root-$key

if [ -e "$root/etc/repro-ci/complete" ]; then
  echo "$root"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "podman-root.sh: must run as root (mmdebstrap --mode=root, chroot)" >&2
  exit 2
fi
if ! command -v mmdebstrap >/dev/null; then
  echo "podman-root.sh: installing mmdebstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

mkdir -p "$cache"
exec 9>"$cache/podman-root.lock"
flock 9
if [ -e "$root/etc/repro-ci/complete" ]; then   # another caller finished it while we waited
  echo "$root"
  exit 0
fi

tmp=$cache/.podman-root-$key.tmp
rm -rf "$tmp"
start=$(date +%s)
echo "podman-root.sh: building the sid root in $tmp (from $mirror)" >&2
mmdebstrap --quiet --mode=root --format=directory --variant=essential \
  --include=podman,buildah,skopeo,runc,conmon \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --aptopt='Acquire::Retries "3"' \
  sid "$tmp" "$mirror" >&2

# Mount points the wrapper binds the store, the run root and the scratch space onto.
mkdir -p "$tmp/var/lib/containers" "$tmp/run" "$tmp/var/lib/repro-ci" \
  "$tmp/etc/containers/containers.conf.d" "$tmp/etc/repro-ci"
cat >"$tmp/etc/containers/storage.conf" <<'EOF'
# Written by .ci/podman-root.sh: one vfs store for podman, buildah and skopeo.
[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
EOF
cat >"$tmp/etc/containers/containers.conf.d/50-repro-ci.conf" <<'EOF'
# Written by .ci/podman-root.sh. The per-machine ulimits come from .ci/podman-exec at run time.
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
runtime = "runc"
EOF

# The versions the tests record (and a check that sid still gives what they need).
chroot "$tmp" dpkg-query -W -f '${Package} ${Version}\n' podman buildah skopeo runc conmon \
  golang-github-containers-common libc6 >"$tmp/etc/repro-ci/versions"
podman_version=$(awk '$1 == "podman" { print $2 }' "$tmp/etc/repro-ci/versions")
if ! dpkg --compare-versions "$podman_version" ge 5.6; then
  echo "podman-root.sh: sid gave podman $podman_version, the tests need >= 5.6" >&2
  exit 1
fi
echo "$(( $(date +%s) - start ))" >"$tmp/etc/repro-ci/build-seconds"
touch "$tmp/etc/repro-ci/complete"
rm -rf "$root"
mv "$tmp" "$root"
echo "podman-root.sh: built in $(cat "$root/etc/repro-ci/build-seconds") s: $(tr '\n' ' ' <"$root/etc/repro-ci/versions")" >&2
echo "$root"
