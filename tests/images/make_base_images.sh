#!/usr/bin/env bash
# Build the local base images the tests build on, with no container registry.
#
# What it makes (all in the podman/buildah storage of the user running it):
#   docker.io/library/node:20-bookworm-slim, docker.io/library/node:20,
#   docker.io/library/node:22-bookworm-slim  (same v20 binary: see the label
#       io.refarch.containers.test-base.node-binary; no Node 22 binary is reachable here),
#   docker.io/library/node:20-alpine          (NOT Alpine: the Debian rootfs plus /etc/alpine-release),
#   registry.access.redhat.com/ubi9/nodejs-20:latest (UBI-like: USER 1001, Red Hat style labels; Debian inside),
#   localhost/refarch/node:20-bookworm-slim-tini (the slim image plus Debian's tini at /usr/bin/tini).
#
# How: `debootstrap --variant=minbase bookworm` (mirror read from /etc/apt/sources.list*), the host's
# Node.js binary and npm copied in, a `node` user (uid 1000), the system CA bundle (the TLS-intercepting
# proxy's CA is in it) and an npmrc pointing npm at it; `podman import` with the config of the official
# images; variants are `buildah config/copy/commit` on top (nothing is run inside a container).
#
# Cache: .tools/cache/base-images/ in the repository (git-ignored). A rerun whose inputs did not change
# only checks the labels of the existing images (seconds). Every image carries the label
# io.refarch.containers.test-base.key=<hash of the inputs>.
#
# Usage: tests/images/make_base_images.sh [--force] [--list]
#   --force  rebuild the images even when their key matches (the rootfs tarball stays cached;
#            delete .tools/cache/base-images to rebuild it too)
#   --list   print the references this script makes and exit
# Environment: DEBIAN_MIRROR (override the mirror), REFARCH_IMAGE_CACHE (override the cache dir).
# Needs: root, debootstrap, podman, buildah, apt-get (to download tini), tar, sha256sum.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${REFARCH_IMAGE_CACHE:-$REPO/.tools/cache/base-images}
SUITE=bookworm
LABEL_NS=io.refarch.containers.test-base

REF_SLIM=docker.io/library/node:20-bookworm-slim
REF_20=docker.io/library/node:20
REF_22=docker.io/library/node:22-bookworm-slim
REF_ALPINE=docker.io/library/node:20-alpine
REF_UBI=registry.access.redhat.com/ubi9/nodejs-20:latest
REF_TINI=localhost/refarch/node:20-bookworm-slim-tini
ALL_REFS=("$REF_SLIM" "$REF_20" "$REF_22" "$REF_ALPINE" "$REF_UBI" "$REF_TINI")

die() { echo "make_base_images: error: $*" >&2; exit 1; }
log() { echo "make_base_images: $*" >&2; }

FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --list) printf '%s\n' "${ALL_REFS[@]}"; exit 0 ;;
        -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
for tool in debootstrap podman buildah apt-get tar sha256sum dpkg-deb chroot; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found in PATH (Debian packages: debootstrap podman buildah)"
done

NODE_BIN=$(readlink -f "$(command -v node || true)")
[ -x "$NODE_BIN" ] || die "no host node binary found (the images copy the host's Node.js)"
NODE_VERSION=$("$NODE_BIN" --version | sed 's/^v//')
NPM_DIR=$(dirname "$NODE_BIN")/../lib/node_modules/npm
[ -d "$NPM_DIR" ] || NPM_DIR=/usr/lib/node_modules/npm
[ -d "$NPM_DIR" ] || die "npm not found beside $NODE_BIN"
CA_FILE=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA_FILE" ] || die "$CA_FILE missing or empty"
ARCH=$(dpkg --print-architecture)

mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local m
    # deb822 .sources stanzas: the URIs of a stanza whose Suites name the plain suite
    m=$(awk -v suite="$SUITE" '
        BEGIN { RS=""; FS="\n" }
        { uris=""; ok=0
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris=u[1] }
            if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok=1 }
          }
          if (ok && uris != "") { print uris; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i+1) == suite) { print $i; exit } break } }' /etc/apt/sources.list)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "another make_base_images run holds $CACHE/.lock"

# --- 1. the Debian rootfs (cached tarball) ---------------------------------------------------------
ROOTFS_TAR=$CACHE/$SUITE-minbase-$ARCH.tar
if [ ! -s "$ROOTFS_TAR" ]; then
    MIRROR=$(mirror)
    log "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute) ..."
    tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    if ! debootstrap --variant=minbase "$SUITE" "$tmp/root" "$MIRROR" >"$tmp/debootstrap.log" 2>&1; then
        tail -20 "$tmp/debootstrap.log" >&2
        die "debootstrap failed (mirror $MIRROR); full log in $tmp/debootstrap.log"
    fi
    rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/log/"*.log
    tar --numeric-owner -C "$tmp/root" -cf "$tmp/rootfs.tar" .
    mv "$tmp/rootfs.tar" "$ROOTFS_TAR"
    rm -rf "$tmp"
    trap - EXIT
fi

# --- 2. tini from Debian (cached .deb, unpacked) ----------------------------------------------------
first_tini_deb() {  # the first cached tini .deb, or nothing (a glob: no ls | head under pipefail)
    local debs
    debs=("$CACHE"/tini_*.deb)
    [ -e "${debs[0]}" ] && printf '%s\n' "${debs[0]}"
    return 0
}
TINI_DEB=$(first_tini_deb)
if [ -z "$TINI_DEB" ]; then
    log "apt-get download tini ..."
    (cd "$CACHE" && apt-get download tini >/dev/null 2>&1) || die "apt-get download tini failed (run apt-get update?)"
    TINI_DEB=$(first_tini_deb)
    [ -n "$TINI_DEB" ] || die "apt-get download tini left no tini_*.deb in $CACHE"
fi
TINI_ROOT=$CACHE/tini-root
if [ ! -x "$TINI_ROOT/usr/bin/tini" ]; then
    rm -rf "$TINI_ROOT"
    dpkg-deb -x "$TINI_DEB" "$TINI_ROOT"
fi

# --- 3. the key: every input that changes the images ----------------------------------------------
# (not the rootfs tarball's identity: any debootstrap of the suite is equivalent, and two caches must agree)
KEY=$( { sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
         echo "$SUITE $ARCH $NODE_VERSION $(basename "$TINI_DEB")"
         sha256sum "$CA_FILE" | cut -d' ' -f1; } | sha256sum | cut -c1-16)

image_key() { podman image inspect --format "{{index .Config.Labels \"$LABEL_NS.key\"}}" "$1" 2>/dev/null || true; }

if [ "$FORCE" = 0 ]; then
    stale=0
    for ref in "${ALL_REFS[@]}"; do
        [ "$(image_key "$ref")" = "$KEY" ] || { stale=1; break; }
    done
    if [ "$stale" = 0 ]; then
        log "all ${#ALL_REFS[@]} base images are current (key $KEY)"
        printf '%s\n' "${ALL_REFS[@]}"
        exit 0
    fi
fi

OLD_IDS=$(for ref in "${ALL_REFS[@]}"; do podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true; done | sort -u)

# --- 4. the node rootfs: debian + node + npm + node user + CA -------------------------------------
NODE_TAR=$CACHE/node-$NODE_VERSION-$SUITE-$KEY.tar
if [ ! -s "$NODE_TAR" ]; then
    log "preparing the Node.js $NODE_VERSION rootfs ..."
    stage=$(mktemp -d "$CACHE/stage.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    tar --numeric-owner -C "$stage" -xf "$ROOTFS_TAR"
    install -m 0755 "$NODE_BIN" "$stage/usr/local/bin/node"
    mkdir -p "$stage/usr/local/lib/node_modules" "$stage/usr/local/etc"
    cp -a "$NPM_DIR" "$stage/usr/local/lib/node_modules/npm"
    ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
    ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
    # npm ships its own CA list; point it at the system bundle, which holds the proxy's CA
    printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$stage/usr/local/etc/npmrc"
    mkdir -p "$stage/etc/ssl/certs"
    install -m 0644 "$CA_FILE" "$stage/etc/ssl/certs/ca-certificates.crt"
    chroot "$stage" groupadd --gid 1000 node
    chroot "$stage" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    cat >"$stage/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# Run node when the first argument is an option or not an executable command.
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "${1}" 2>/dev/null)" ]; then
  set -- node "$@"
fi
exec "$@"
EOF
    chmod 0755 "$stage/usr/local/bin/docker-entrypoint.sh"
    got=$(chroot "$stage" /usr/local/bin/node --version) || die "the copied node binary does not run in the Debian rootfs (ldd $NODE_BIN)"
    [ "$got" = "v$NODE_VERSION" ] || die "node in rootfs reports $got, expected v$NODE_VERSION"
    rm -f "$CACHE"/node-*.tar
    tar --numeric-owner -C "$stage" -cf "$NODE_TAR.tmp" .
    mv "$NODE_TAR.tmp" "$NODE_TAR"
    rm -rf "$stage"
    trap - EXIT
fi

# --- 5. import and derive the variants ------------------------------------------------------------
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
common_changes=(
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    --change "ENV NODE_VERSION=$NODE_VERSION"
    --change "ENTRYPOINT [\"docker-entrypoint.sh\"]"
    --change 'CMD ["node"]'
    --change "LABEL $LABEL_NS=true"
    --change "LABEL $LABEL_NS.key=$KEY"
    --change "LABEL $LABEL_NS.node-binary=v$NODE_VERSION"
    --change "LABEL $LABEL_NS.note=local test image built by tests/images/make_base_images.sh, not the upstream image"
)
log "podman import -> $REF_SLIM"
podman import --quiet "${common_changes[@]}" --message "refarch test base $CREATED" "$NODE_TAR" "$REF_SLIM" >/dev/null \
    || die "podman import of $NODE_TAR failed"
podman tag "$REF_SLIM" "$REF_20"

# derive(from, ref, buildah-config-args...); COPIES in the environment: "src|dst|owner" entries, one a line
derive() {
    local from=$1 ref=$2; shift 2
    local ctr src dst owner
    ctr=$(buildah from --pull-never --quiet "$from") || die "buildah from $from failed"
    while IFS='|' read -r src dst owner; do
        [ -n "$src" ] || continue
        buildah copy --quiet --chown "${owner:-0:0}" "$ctr" "$src" "$dst" >/dev/null \
            || { buildah rm "$ctr" >/dev/null; die "buildah copy $src into $ref failed"; }
    done <<<"${COPIES:-}"
    if [ "$#" -gt 0 ]; then
        buildah config "$@" "$ctr" || { buildah rm "$ctr" >/dev/null; die "buildah config for $ref failed"; }
    fi
    buildah commit --quiet --rm "$ctr" "$ref" >/dev/null || die "buildah commit $ref failed"
    log "built $ref"
}

derive "$REF_SLIM" "$REF_22" --label "$LABEL_NS.requested-node-major=22" \
    --label "$LABEL_NS.note=tagged node:22 but the Node.js binary is v$NODE_VERSION (no Node 22 binary reachable)"

alpine_dir=$(mktemp -d)
trap 'rm -rf "$alpine_dir"' EXIT
printf '3.20.3\n' >"$alpine_dir/alpine-release"
COPIES="$alpine_dir/alpine-release|/etc/alpine-release|0:0" \
    derive "$REF_SLIM" "$REF_ALPINE" --label "$LABEL_NS.flavour=alpine-like" \
    --label "$LABEL_NS.note=NOT Alpine: Debian bookworm rootfs with an /etc/alpine-release marker"

ubi_dir=$(mktemp -d)
trap 'rm -rf "$alpine_dir" "$ubi_dir"' EXIT
tar -xOf "$NODE_TAR" ./etc/passwd >"$ubi_dir/passwd"
echo 'default:x:1001:0:Default Application User:/opt/app-root/src:/usr/sbin/nologin' >>"$ubi_dir/passwd"
mkdir -p "$ubi_dir/src"
COPIES="$ubi_dir/passwd|/etc/passwd|0:0
$ubi_dir/src|/opt/app-root/src|1001:0" \
    derive "$REF_SLIM" "$REF_UBI" --user 1001 --workingdir /opt/app-root/src --entrypoint '[]' --cmd '["/bin/bash"]' \
    --env HOME=/opt/app-root/src --env NODEJS_VERSION=20 \
    --label name=ubi9/nodejs-20 --label com.redhat.component=nodejs-20-container \
    --label vendor="refarch test (UBI-like, not Red Hat)" --label "$LABEL_NS.flavour=ubi-like" \
    --label "$LABEL_NS.note=UBI-like: Debian bookworm rootfs, USER 1001, Red Hat style labels"

COPIES="$TINI_ROOT/usr/bin/tini|/usr/bin/tini|0:0" \
    derive "$REF_SLIM" "$REF_TINI" --label "$LABEL_NS.flavour=tini" \
    --label "$LABEL_NS.note=node:20-bookworm-slim plus Debian's tini at /usr/bin/tini"

for ref in "${ALL_REFS[@]}"; do
    [ "$(image_key "$ref")" = "$KEY" ] || die "$ref does not carry key $KEY after the build"
done
# drop the base images this run replaced, when nothing tags them any more (never other images)
for old in $OLD_IDS; do
    if [ -z "$(podman image inspect --format '{{join .RepoTags ","}}' "$old" 2>/dev/null)" ]; then
        podman rmi "$old" >/dev/null 2>&1 || true
    fi
done
log "done (key $KEY)"
printf '%s\n' "${ALL_REFS[@]}"
