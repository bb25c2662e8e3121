#!/usr/bin/env bash
# Install ShopAI for the current user: copy the built app, add its icon and a launcher.
#
#   packaging/install_linux.sh [APP_DIR]     # APP_DIR defaults to dist/ShopAI (from build_linux.sh)
#   packaging/install_linux.sh --uninstall
#
# Puts the app in ~/.local/opt/ShopAI, the launcher in ~/.local/share/applications/shopai.desktop and
# the icon in ~/.local/share/icons/hicolor/{scalable,256x256}/apps/. Nothing needs root.
# The shop data (database, backups, models) lives elsewhere (~/.local/share/ShopAI) and is never touched.
set -euo pipefail

cd "$(dirname "$0")/.."
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="${SHOPAI_PREFIX:-$HOME/.local/opt/ShopAI}"
APPS="$DATA_HOME/applications"
ICONS="$DATA_HOME/icons/hicolor"

refresh() {
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$ICONS" || true
}

if [[ "${1:-}" == "--uninstall" ]]; then
    rm -rf "$PREFIX"
    rm -f "$APPS/shopai.desktop" "$ICONS/scalable/apps/shopai.svg" "$ICONS/256x256/apps/shopai.png"
    refresh
    echo "ShopAI removed (your shops in $DATA_HOME/ShopAI were kept)."
    exit 0
fi

SRC="${1:-dist/ShopAI}"
[[ -x "$SRC/ShopAI" ]] || { echo "no built app at $SRC (run packaging/build_linux.sh first)" >&2; exit 1; }

mkdir -p "$(dirname "$PREFIX")" "$APPS" "$ICONS/scalable/apps" "$ICONS/256x256/apps"
if [[ "$(realpath "$SRC")" != "$(realpath -m "$PREFIX")" ]]; then
    rm -rf "$PREFIX.new"
    cp -a "$SRC" "$PREFIX.new"
    rm -rf "$PREFIX"
    mv "$PREFIX.new" "$PREFIX"
fi
install -m 644 resources/icons/shopai.svg "$ICONS/scalable/apps/shopai.svg"
install -m 644 resources/icons/shopai.png "$ICONS/256x256/apps/shopai.png"
sed "s|@EXEC@|$PREFIX/ShopAI|g" packaging/shopai.desktop > "$APPS/shopai.desktop.tmp"
chmod 644 "$APPS/shopai.desktop.tmp"
mv "$APPS/shopai.desktop.tmp" "$APPS/shopai.desktop"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$APPS/shopai.desktop" || true; fi
refresh
echo "ShopAI installed in $PREFIX"
echo "Launcher: $APPS/shopai.desktop (look for \"ShopAI\" in your applications menu)"
