#!/usr/bin/env bash
# The Raspberry Pi OS stack test (stack.sh) inside a Debian root made with debootstrap: another release (Trixie:
# Python 3.13, apt numpy 2.x) or another architecture (arm64, run under qemu-user through binfmt_misc).
#
#   tests/platforms/root.sh SUITE ARCH ROOT LABEL
#
# SUITE   Debian release (bookworm, trixie); ARCH  Debian architecture (amd64, arm64); ROOT  where the root goes
# (made once, then reused); LABEL  name for the log lines and the venv (/root/venv-LABEL inside the root).
#
# The root gets what a Pi OS image has of the Python stack (python3, python3-venv, python3-numpy, python3-pil,
# python3-opencv) plus what the tests use (opencv-doc's vtest.avi, Fashion-MNIST, mosquitto, systemd-analyze and
# the /bin/kill a unit's ExecReload names, strace). The checkout is
# *copied* into ROOT/src (with the wheel `make wheel` built and the models build/test-cache holds), never bind-mounted,
# so nothing in the root can write into the checkout. Needs root (debootstrap, chroot, mount).
# Environment: STACK_PYTEST_ARGS (passed to pytest, e.g. a smoke subset), DEBIAN_MIRROR.
set -euo pipefail
SUITE=$1; ARCH=$2; ROOT=$(realpath -m "$3"); LABEL=$4
REPO=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3,python3-venv,python3-pip,python3-numpy,python3-pil,python3-opencv,opencv-doc,mosquitto,dataset-fashion-mnist,systemd,procps,strace,ca-certificates
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
SECONDS=0
step() { echo "[$LABEL ${SECONDS}s] $*" >&2; }
die() { echo "[$LABEL] FAILED: $*" >&2; exit 1; }

WHEEL=$(ls -t "$REPO"/build/dist/edgeml-*.whl 2>/dev/null | head -1) || true
[ -n "$WHEEL" ] || die "no wheel in build/dist: run make wheel first (the make targets do)"

need=(debootstrap)
emulated=no
if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
  emulated=yes; need+=(qemu-user-static binfmt-support)
fi
missing=(); for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $emulated = yes ]; then
  if ! [ -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
      die "cannot mount binfmt_misc (needs CAP_SYS_ADMIN on the host kernel): $ARCH binaries cannot run here"
  fi
  qemu=$(dpkg-architecture -a "$ARCH" -qDEB_HOST_GNU_CPU 2>/dev/null || echo aarch64)
  $SUDO update-binfmts --enable "qemu-$qemu" 2>/dev/null || true
  grep -q '^flags:.*F' "/proc/sys/fs/binfmt_misc/qemu-$qemu" 2>/dev/null ||
    die "qemu-$qemu is not registered with binfmt_misc with the F (fix-binary) flag; see /proc/sys/fs/binfmt_misc/"
fi

if ! [ -e "$ROOT/.edgeml-root-ready" ]; then
  step "debootstrap $SUITE $ARCH -> $ROOT (once; reused after)"
  $SUDO rm -rf "$ROOT"
  $SUDO debootstrap --arch="$ARCH" --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" \
    > "$ROOT.debootstrap.log" 2>&1 || die "debootstrap failed; see $ROOT.debootstrap.log"
  $SUDO touch "$ROOT/.edgeml-root-ready"
fi

mounted=()
cleanup() { for ((i=${#mounted[@]}-1; i>=0; i--)); do $SUDO umount "${mounted[$i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
bind() { mountpoint -q "$ROOT/$1" || { $SUDO mount --bind "/$1" "$ROOT/$1"; mounted+=("$ROOT/$1"); }; }
bind proc; bind dev; bind dev/shm; bind dev/pts  # pseudo-terminals: the progress-bar tests draw on one
# Under emulation /sys stays out: qemu-user passes the host's x86 /proc/cpuinfo through, and LiteRT's Arm cpuinfo
# library segfaulted with the host's /sys present. Without it, it falls back to defaults (and says so on stderr).
[ $emulated = yes ] || bind sys
$SUDO cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# debootstrap's Bookworm root has no /etc/hosts (Trixie's has); a Pi OS image has Debian's, where localhost resolves.
[ -s "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' | $SUDO tee "$ROOT/etc/hosts" >/dev/null
# A root made before a package joined the list gets it now (apt inside the root, from the same mirror).
missing=(); for p in ${PACKAGES//,/ }; do $SUDO chroot "$ROOT" dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]} in the root"
  $SUDO chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}" > "$ROOT.apt.log" 2>&1 ||
    die "apt-get install in the root failed; see $ROOT.apt.log"
fi
# The host's CA bundle, for a host whose pip reaches its index through its own certificate (see pip config).
$SUDO cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/host-ca.crt"

step "copying the checkout, the wheel and build/test-cache into $ROOT/src"
$SUDO rm -rf "$ROOT/src" && $SUDO mkdir -p "$ROOT/src/build/dist"
tar -C "$REPO" --exclude=./.venv --exclude=./build --exclude=./.git -cf - . | $SUDO tar -C "$ROOT/src" -xf -
$SUDO cp "$WHEEL" "$ROOT/src/build/dist/"
[ -d "$REPO/build/test-cache" ] && $SUDO cp -a "$REPO/build/test-cache" "$ROOT/src/build/"
[ -d "$REPO/build/picamera2" ] && $SUDO cp -a "$REPO/build/picamera2" "$ROOT/src/build/"

step "stack.sh in the $SUITE $ARCH root"
$SUDO chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  PIP_CERT=/etc/ssl/certs/host-ca.crt PIP_DEFAULT_TIMEOUT=180 STACK_PYTEST_ARGS="${STACK_PYTEST_ARGS:-}" \
  bash /src/tests/platforms/stack.sh "/src/build/dist/$(basename "$WHEEL")" "/root/venv-$LABEL" "$LABEL"
step "done"
