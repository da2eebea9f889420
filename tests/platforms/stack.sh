#!/usr/bin/env bash
# The runtime suite on an operating system's own Python stack, installed the way the README tells a Raspberry Pi
# user to: the system python3, the distribution's numpy / Pillow / OpenCV (apt), a venv made with
# --system-site-packages, then the README's pip line with the wheel built from this checkout in place of "edgeml".
#
#   tests/platforms/stack.sh WHEEL VENV [LABEL]
#
# WHEEL   edgeml-*.whl built from the checkout (py3-none-any, so one wheel serves every root and architecture)
# VENV    where the venv goes (made if missing; remade when its python changed)
# LABEL   a name for the log lines (bookworm, trixie, arm64, ...)
#
# Environment: PYTHON (default /usr/bin/python3), STACK_PYTEST_ARGS (extra pytest arguments), STACK_SMOKE_MODEL (a
# .tflite for the video smoke run).
#
# It fails when the install replaced a system package (numpy, PIL or cv2 then load from the venv, or at another
# version), when the installed `edgeml classify --source video:` does not stream, or when a test fails.
set -euo pipefail
WHEEL=$(realpath "$1"); VENV=$(realpath -m "$2"); LABEL=${3:-stack}
PYTHON=${PYTHON:-/usr/bin/python3}
# As on a Pi: output buffered as Python buffers it by default (this machine sets PYTHONUNBUFFERED=1, which hid an
# ordering bug in edgeml._native_log).
unset PYTHONUNBUFFERED
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VTEST=/usr/share/doc/opencv-doc/examples/data/vtest.avi
SECONDS=0
step() { echo "[$LABEL ${SECONDS}s] $*" >&2; }
die() { echo "[$LABEL] FAILED: $*" >&2; exit 1; }

# What the system python loads before anything is installed: module -> "version path".
probe='import importlib, json, sys
out = {}
for name in ("numpy", "PIL", "cv2"):
    try:
        m = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden: the assertion below names it
        out[name] = ["missing", f"{type(exc).__name__}: {exc}"]
    else:
        out[name] = [str(getattr(m, "__version__", "?")), m.__file__]
json.dump(out, sys.stdout)'
system=$("$PYTHON" -I -c "$probe")
step "system $("$PYTHON" -V 2>&1): $system"

if [ -x "$VENV/bin/python" ] && ! cmp -s <("$VENV/bin/python" -c 'import sys; print(sys._base_executable)' 2>/dev/null) \
                                         <("$PYTHON" -c 'import sys; print(sys.executable)'); then
  rm -rf "$VENV"
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv --system-site-packages "$VENV"
export PIP_DISABLE_PIP_VERSION_CHECK=1

check_system() {  # the venv still loads numpy, PIL and cv2 from the system, at the system's versions
  local now; now=$("$VENV/bin/python" -c "$probe")
  "$VENV/bin/python" - "$system" "$now" "$VENV" "$1" <<'EOF' || die "the install changed the system's packages ($4)"
import json, sys
system, now, venv, when = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
bad = []
for name, (version, path) in system.items():
    if version == "missing":
        continue
    got_version, got_path = now[name]
    if got_path.startswith(venv) or (got_version, got_path) != (version, path):
        bad.append(f"{name}: system {version} at {path}, venv loads {got_version} at {got_path}")
print(f"{when}: " + ("; ".join(bad) if bad else "numpy, PIL, cv2 load from the system: "
      + ", ".join(f"{n} {v[0]}" for n, v in now.items())), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

# The README's device install, with this checkout's wheel for "edgeml". picamera2 and OpenCV are the system's
# (python3-picamera2, python3-opencv from apt): the [picamera] and [opencv] extras are for pip-only installs.
step "pip install \"edgeml[store,mqtt,serve]\" (the README line) into $VENV"
"$VENV/bin/pip" install --quiet "edgeml[store,mqtt,serve] @ file://$WHEEL" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
"$VENV/bin/python" -c "import edgeml, ai_edge_litert" || die "edgeml did not install"
check_system "after the README install"

# Test tools, held to the system's numpy and Pillow so they cannot replace them either.
cons=$(mktemp); trap 'rm -f "$cons"' EXIT
"$PYTHON" -I -c 'import numpy, PIL; print(f"numpy=={numpy.__version__}\nPillow=={PIL.__version__}")' > "$cons"
"$VENV/bin/pip" install --quiet -c "$cons" pytest scikit-image httpx selenium 2>&1 | grep -v "is ignored: it is neither" >&2 || true
check_system "after the test tools"

# What the README tells a Pi user to run next: doctor must see the system's numpy in charge (no system-numpy fail).
doctor=$(cd / && "$VENV/bin/edgeml" doctor --json | grep '"check": "system-numpy"') || true
step "edgeml doctor: $doctor"
case $doctor in *'"status": "ok"'*) ;; *) die "edgeml doctor's system-numpy finding is not ok";; esac

if [ -e "$VTEST" ]; then
  model=${STACK_SMOKE_MODEL:-$REPO/tests/data/tiny_int8.tflite}
  step "installed edgeml classify --source video:vtest.avi (from outside the checkout)"
  lines=$(cd / && "$VENV/bin/edgeml" classify --model "$model" --source "video:$VTEST" --max-frames 30 --json | wc -l)
  [ "$lines" -eq 30 ] || die "edgeml classify --source video: gave $lines of 30 results"
  step "video streams: $lines results"
fi

step "pytest tests/unit tests/integration"
cd "$REPO"
# shellcheck disable=SC2086
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/integration ${STACK_PYTEST_ARGS:-}
step "done"
