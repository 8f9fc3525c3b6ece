#!/usr/bin/env bash
# Install the Debian packages the demo and the tests need. Idempotent: it only
# calls apt-get when something is missing. Needs root (the CI machine runs as root).
set -euo pipefail

packages=(
  podman buildah uidmap fuse-overlayfs     # image builds (--isolation chroot) and inspection
  openssh-server openssh-client            # real SSH-managed test hosts on loopback
  debootstrap                              # local base images: no registry is reachable
  docker.io                                # the docker engine path (started by the tests)
  chromium fonts-dejavu-core               # the HTML report is opened headless in a test
  iproute2 procps psmisc                   # process and network helpers used by the tests
  tini                                     # copied into locally made base images
  python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

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
