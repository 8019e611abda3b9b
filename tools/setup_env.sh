#!/usr/bin/env bash
# Idempotent set-up of the project's virtual environment (.venv) with the real
# OpenMMLab stack: torch 2.14.1, mmengine, mmpretrain, mmdet and mmcv 2.1.0 *with
# compiled CPU ops* (RoIAlign, NMS, ...), which PyPI ships only as source.
#
# The built mmcv wheel is cached outside the repo (REGNET_PLUGIN_CACHE, default
# ~/.cache/regnet_plugin) so only the first run on a machine pays the ~11 min build.
# A rerun with everything in place only checks a stamp and a few imports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
CACHE="${REGNET_PLUGIN_CACHE:-$HOME/.cache/regnet_plugin}"
PYTHON="${PYTHON:-python3}"

TORCH_PINS=(torch==2.14.1 torchvision==0.29.1)
MMCV_VERSION=2.1.0
# setuptools: torch 2.14.1 needs >=77, mmcv 2.1.0's setup.py imports pkg_resources,
# which setuptools 81 removed: [77, 81) satisfies both.
BUILD_PINS=("setuptools>=77,<81" wheel ninja)
STACK_PINS=(mmengine==0.10.7 mmpretrain==1.2.0 mmdet==3.3.0)

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] FAILED: %s\n' "$*" >&2; exit 1; }

# The stamp covers everything that decides what gets installed.
stamp_key() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT/setup.cfg" "$ROOT/setup.py" 2>/dev/null | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.regnet_plugin_setup"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_key)" ]] \
   && "$VENV/bin/python" -c "import mmcv.ops, mmdet, mmpretrain, regnet_plugin" 2>/dev/null; then
  log "environment up to date ($VENV)"
  exit 0
fi

command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create the virtual environment"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

log "installing torch (${TORCH_PINS[*]}) and build tools"
"${PIP[@]}" install -q "${TORCH_PINS[@]}" "${BUILD_PINS[@]}" \
  || die "pip could not install ${TORCH_PINS[*]} (a newer torch must never be pulled in)"

mkdir -p "$CACHE/wheels"
PYTAG="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
TORCH_TAG="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_TAG-$PYTAG"
wheel() { ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1; }

if [[ -z "$(wheel)" ]]; then
  log "building mmcv $MMCV_VERSION with CPU ops from source (first run on this machine: ~11 min on 2 cores)"
  BUILD="$(mktemp -d)"
  trap 'rm -rf "$BUILD"' EXIT
  # (no isolation even for the download: pip runs setup.py for the metadata, see below)
  "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD" \
    || die "could not download the mmcv $MMCV_VERSION source release"
  tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
  SRC="$BUILD/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers refuse to compile below C++20, but mmcv's setup.py
  # hard-codes -std=c++17 for its extension: raise it, and check that we did.
  sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
  grep -q -- '-std=c++20' "$SRC/setup.py" || die "could not raise mmcv's C++ standard to C++20 in setup.py"
  # Without isolation: an isolated build env would take setuptools >= 81 (no pkg_resources)
  # and a torch that is not the one we compile against.
  ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" wheel -q --no-build-isolation --no-deps . -w "$BUILD/dist" ) \
    || die "mmcv $MMCV_VERSION failed to compile (see the compiler output above)"
  mkdir -p "$WHEEL_DIR"
  cp "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR"/
  log "cached $(basename "$(wheel)") in $WHEEL_DIR"
else
  log "using cached $(wheel)"
fi

log "installing mmcv, ${STACK_PINS[*]} and the plugin (editable, with test/bench/lint extras)"
"${PIP[@]}" install -q "$(wheel)" "${STACK_PINS[@]}" -e "$ROOT[tests,bench,lint]" \
  || die "pip could not install the OpenMMLab stack"

"$VENV/bin/python" - <<'PY' || die "the installed stack does not import"
import torch, mmcv, mmcv.ops, mmengine, mmpretrain, mmdet
from mmcv.ops import nms, RoIAlign  # compiled ops
print(f"[setup] torch {torch.__version__}, mmcv {mmcv.__version__} (ops), mmengine {mmengine.__version__}, "
      f"mmpretrain {mmpretrain.__version__}, mmdet {mmdet.__version__}")
PY
stamp_key > "$STAMP"
log "done ($VENV)"
