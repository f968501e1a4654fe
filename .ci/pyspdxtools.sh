#!/usr/bin/env bash
# The SPDX project's own validator (pyspdxtools, Debian's python3-spdx-tools) for the SBOM tests.
# It is packaged in Debian unstable only: it and python3-beartype (also unstable only) are fetched
# with apt from unstable, using this host's own Debian mirror (read from its apt sources) and
# keyring in a private apt root, and unpacked (not installed) under $DEST; their other
# dependencies come from this host's release (.ci/run installs them). Idempotent.
set -euo pipefail
DEST="${1:-/usr/local/lib/repro-image-test/pyspdx}"
[[ -x "$DEST/usr/bin/pyspdxtools" ]] && exit 0
mirror=""
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
  u="$(sed -n 's/^URIs:[[:space:]]*//Ip' "$f" | head -n1)"
  if [[ -n "$u" && "$u" != *security* ]]; then mirror="${u%% *}"; break; fi
done
shopt -u nullglob
if [[ -z "$mirror" && -f /etc/apt/sources.list ]]; then
  mirror="$(awk '$1=="deb" && $2 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' /etc/apt/sources.list)"
fi
[[ -n "$mirror" ]] || { echo "pyspdxtools.sh: no Debian mirror in this host's apt sources" >&2; exit 2; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/preferences.d" "$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial" "$root/debs"
touch "$root/status"
printf 'Types: deb\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$root/etc/apt/sources.list.d/sid.sources"
apt_opts=(-o "APT::Architectures=$(dpkg --print-architecture)" -o "Dir=$root" -o "Dir::State::status=$root/status" -o "Dir::Etc::trusted=/etc/apt/trusted.gpg" -o "Dir::Etc::trustedparts=/etc/apt/trusted.gpg.d" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq
(cd "$root/debs" && apt-get "${apt_opts[@]}" download -qq python3-spdx-tools python3-beartype)
mkdir -p "$DEST.tmp"
for d in "$root"/debs/*.deb; do dpkg-deb -x "$d" "$DEST.tmp"; done
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
