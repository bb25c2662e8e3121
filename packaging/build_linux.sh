#!/usr/bin/env bash
# Build the Linux one-folder app (dist/ShopAI/ShopAI) with PyInstaller, then start it offscreen once
# to prove it shows its window: it must print "shown_after_s=..." and exit 0; then "ShopAI --self-test"
# checks torch, torchvision's C++ ops, the pocketsphinx model and Qt's SVG support inside the build.
#
#   packaging/build_linux.sh            # uses .venv/bin/python (override with PYTHON=...)
#   SKIP_BUILD=1 packaging/build_linux.sh   # only the start check of an existing dist/ShopAI
#   FROM_COMMIT=HEAD packaging/build_linux.sh   # build a clean checkout of a commit (build/src), not the
#                                               # working tree: nothing half-edited gets into the app
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
DIST="${DIST:-$ROOT/dist}"
WORK="${WORK:-$ROOT/build/pyinstaller}"
SRC="$ROOT"
if [[ -n "${FROM_COMMIT:-}" && -z "${SKIP_BUILD:-}" ]]; then
    SRC="$ROOT/build/src"
    git worktree remove --force "$SRC" 2>/dev/null || rm -rf "$SRC"
    git worktree prune
    git worktree add --detach "$SRC" "$FROM_COMMIT" >/dev/null
    echo "== building commit $(git -C "$SRC" rev-parse --short HEAD) from $SRC"
fi

if [[ -z "${SKIP_BUILD:-}" ]]; then
    echo "== installing PyInstaller into $($PYTHON -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install --quiet "pyinstaller>=6.0"
    echo "== building (this collects torch and Qt: several GB and many minutes)"
    start=$(date +%s)
    "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
        --distpath "$DIST" --workpath "$WORK" "$SRC/packaging/shopai.spec"
    echo "== built in $(( $(date +%s) - start )) s: $(du -sh "$DIST/ShopAI" | cut -f1) in $DIST/ShopAI"
fi

APP="$DIST/ShopAI/ShopAI"
[[ -x "$APP" ]] || { echo "no $APP: the build failed" >&2; exit 1; }

echo "== starting $APP offscreen"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
set +e
QT_QPA_PLATFORM=offscreen SHOPAI_DATA_DIR="$tmp" timeout 180 \
    "$APP" --db "$tmp/shop.sqlite" --quit-after-shown >"$tmp/out.txt" 2>&1
code=$?
set -e
cat "$tmp/out.txt"
if [[ $code -ne 0 ]]; then
    echo "FAILED: the packaged app exited with code $code" >&2
    exit 1
fi
if ! grep -q "shown_after_s=" "$tmp/out.txt"; then
    echo "FAILED: the packaged app exited without showing its window" >&2
    exit 1
fi
echo "OK: the packaged app started and showed its window"

echo "== self-test of what the build collected (torch, torchvision ops, pocketsphinx model, Qt SVG)"
QT_QPA_PLATFORM=offscreen SHOPAI_DATA_DIR="$tmp" timeout 300 "$APP" --self-test
echo "OK: self-test passed"
