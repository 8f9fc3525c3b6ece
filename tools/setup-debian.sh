#!/usr/bin/env bash
# Install the Debian packages the demo and the tests need. Idempotent: it only
# calls apt-get when something is missing. Needs root (the CI machine runs as root).
set -euo pipefail

# The list was checked against what tests/, tools/ and bench/ run (and `dpkg -S` of each
# binary), and resolved with `apt-get install --simulate` in a fresh Debian 12 debootstrap tree.
packages=(
  podman buildah uidmap fuse-overlayfs     # image builds (--isolation chroot) and inspection
  catatonit                                # podman's --init (the tests create containers with it)
  openssh-server openssh-client            # real SSH-managed test hosts on loopback
  debootstrap ca-certificates              # local base images (no registry is reachable; the CA bundle is copied in)
  docker.io                                # the docker engine path (started by the tests)
  chromium fonts-dejavu-core               # the HTML report is opened headless in a test
  iproute2 procps psmisc time              # process and network helpers used by the tests and benchmarks
  openssl                                  # the OPA engine tests make their own TLS certificates
  tini                                     # copied into locally made base images
  nodejs                                   # its node binary is copied into the local base images
  busybox                                  # busybox sh runs the heap start script as Alpine images would (test_fix_heap)
  gcc libc6-dev                            # the linker the Rust build of native/refarch_regorus calls
  python3 python3-venv                     # the venv; /usr/bin/python3 is the test hosts' interpreter
  make
)

installed() {  # no pipe into grep -q: under pipefail an early exit of grep would fail the check at random
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [ "$status" = "install ok installed" ]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# npm is part of some nodejs builds (NodeSource's replaces Debian's npm package): ask for
# Debian's npm only when there is no npm command at all.
if ! command -v npm >/dev/null 2>&1 && ! installed npm; then
  missing+=(npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-debian: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-debian: missing packages: ${missing[*]} (run as root or install them by hand)" >&2
  exit 1
fi

echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-debian: done"
