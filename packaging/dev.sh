#!/usr/bin/env bash
# One-command set-up for a fresh Linux machine, then run something:
#   packaging/dev.sh demo    set up, then open the app on the built-in sample shop
#   packaging/dev.sh test    set up, then run the whole test suite (what CI runs)
#   packaging/dev.sh setup   set up only
# Set-up = Debian packages (when root or with sudo), a virtual environment in .venv, ShopAI in it.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-demo}"
shift || true

python="${PYTHON:-python3}"
venv=".venv"
torch_pins="${SHOPAI_TORCH_PINS:-torch==2.14.1 torchvision==0.29.1}"

install_apt() {
    mapfile -t pkgs < <(grep -v '^\s*#' packaging/apt-packages.txt | grep -v '^\s*$')
    missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python() {
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    stamp="$venv/.shopai-installed"
    want="$(cat pyproject.toml packaging/dev.sh | sha256sum | cut -c1-16) $torch_pins"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    "$venv/bin/python" -m pip install -q --upgrade pip
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q $torch_pins
    "$venv/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
}

if command -v apt-get >/dev/null 2>&1; then install_apt; fi
install_python

case "$what" in
    demo)  exec "$venv/bin/shopai" --demo "$@" ;;
    test)  export QT_QPA_PLATFORM=offscreen; exec "$venv/bin/pytest" "$@" ;;
    setup) echo "Set up. Run: $venv/bin/shopai --demo" ;;
    *)     echo "usage: packaging/dev.sh demo|test|setup" >&2; exit 2 ;;
esac
