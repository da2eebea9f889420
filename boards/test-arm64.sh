#!/usr/bin/env bash
# Run the runtime's unit and integration tests on aarch64 (the Raspberry Pi's architecture) under qemu-user:
# a Debian bookworm arm64 root made by debootstrap, a venv in it with `pip install .` (the aarch64
# ai-edge-litert, numpy and Pillow wheels from PyPI), then pytest. Needs root (debootstrap, chroot, mounts).
# Not part of CI: it takes minutes. Usage: make test-arm64   (ARM64_ROOT=DIR to keep the root elsewhere)
set -euo pipefail
ROOTFS=$(realpath -m "${ARM64_ROOT:-build/arm64-root}")
REPO=$(pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
SECONDS=0
step() { echo "[test-arm64 ${SECONDS}s] $*" >&2; }

if ! command -v debootstrap >/dev/null || ! [ -e /usr/bin/qemu-aarch64-static ] || ! command -v update-binfmts >/dev/null; then
  step "installing qemu-user-static debootstrap binfmt-support"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-user-static debootstrap binfmt-support
fi
if ! [ -e /proc/sys/fs/binfmt_misc/register ]; then
  $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || {
    echo "test-arm64: cannot mount binfmt_misc (needs CAP_SYS_ADMIN on the host kernel); aarch64 binaries" \
         "cannot be run transparently here." >&2; exit 1; }
fi
$SUDO update-binfmts --enable qemu-aarch64 2>/dev/null || true
if ! grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  echo "test-arm64: qemu-aarch64 is not registered with binfmt_misc with the F (fix-binary) flag;" \
       "see /proc/sys/fs/binfmt_misc/. Install qemu-user-static and binfmt-support." >&2
  exit 1
fi

if ! [ -x "$ROOTFS/usr/bin/python3" ]; then
  step "debootstrap bookworm arm64 -> $ROOTFS"
  $SUDO debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates bookworm "$ROOTFS" "$MIRROR" >/dev/null
fi

cleanup() {
  mountpoint -q "$ROOTFS/proc/cpuinfo" 2>/dev/null && $SUDO umount "$ROOTFS/proc/cpuinfo"
  for m in dev sys proc; do mountpoint -q "$ROOTFS/$m" && $SUDO umount "$ROOTFS/$m"; done; true
}
trap cleanup EXIT
$SUDO mount --bind /proc "$ROOTFS/proc"
$SUDO mount --bind /dev "$ROOTFS/dev"
# /sys is NOT mounted: qemu-user passes the host's x86 /proc/cpuinfo through, and LiteRT's Arm cpuinfo library
# segfaulted with the host's /sys present; with a Pi 4 cpuinfo bound over /proc/cpuinfo it ran but picked kernels
# whose int8 results differed under emulation. Without /sys it falls back to defaults (and says so on stderr).
$SUDO cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
# The host's CA bundle, for a host whose pip is configured with its own certificate (see pip config).
$SUDO cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/host-ca.crt"

step "copying the working tree (and build/test-cache models, if built) into the root"
$SUDO rm -rf "$ROOTFS/src" && $SUDO mkdir -p "$ROOTFS/src"
tar -C "$REPO" --exclude=./.venv --exclude=./build --exclude=./.git -cf - . | $SUDO tar -C "$ROOTFS/src" -xf -
if [ -d "$REPO/build/test-cache" ]; then
  $SUDO mkdir -p "$ROOTFS/src/build" && $SUDO cp -a "$REPO/build/test-cache" "$ROOTFS/src/build/"
fi

step "pip install . in an aarch64 venv, then pytest tests/unit tests/integration"
$SUDO chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root PIP_CERT=/etc/ssl/certs/host-ca.crt \
  PIP_DISABLE_PIP_VERSION_CHECK=1 /bin/sh -euc '
  cd /src
  [ -x /venv/bin/python ] || python3 -m venv /venv
  /venv/bin/pip install --quiet . pytest scikit-image
  /venv/bin/pip install --quiet --no-deps --force-reinstall .
  /venv/bin/python -c "import platform, ai_edge_litert, numpy; print(\"arch\", platform.machine(), \"numpy\", numpy.__version__)"
  # Deselected under emulation only: the import-time budget (0.3 s) is for real hardware, and the one-line-stderr
  # contract is broken by LiteRT printing "Error in cpuinfo: ..." when it finds no Arm /sys and /proc (see above).
  /venv/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/integration \
    --deselect tests/unit/test_public_api.py::test_import_pulls_in_no_tensorflow_cv2_or_picamera2_and_is_fast \
    --deselect tests/integration/test_classifier.py::test_cli_keeps_going_past_a_file_that_is_not_an_image
'
step "done"
