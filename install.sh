#!/usr/bin/env bash
# Installs everything mediaseek and its tests need on a fresh Debian/Ubuntu machine:
# system packages (apt-get), then a virtual environment in .venv with the project.
# PYTHON=python3.12 ./install.sh picks another interpreter (3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

python_ok() {
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

python_version() {
  "$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# Stop before touching the system when the interpreter is too old.
if command -v "$PYTHON" >/dev/null 2>&1 && ! python_ok; then
  fail "mediaseek needs Python 3.11 or newer; $PYTHON is $(python_version). Install a newer Python" \
       "(e.g. 'sudo apt-get install python3.11 python3.11-venv') and run: PYTHON=python3.11 ./install.sh"
fi

if command -v apt-get >/dev/null 2>&1; then
  # Qt's runtime libraries and its X11 (xcb) platform plugin for the desktop app; Xvfb,
  # xdotool and ImageMagick for the end-to-end window test; real photos for the parity
  # tests; the .desktop validator and gio for the file-manager integration tests.
  packages=(
    libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-image0
    libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libx11-xcb1
    libpulse0  # Qt Multimedia links it (video playback in the viewer), even with no sound device
    xvfb xdotool imagemagick
    mate-backgrounds desktop-file-utils libglib2.0-bin
    # real fonts (Latin and Chinese) the text-in-photos tests draw with
    fonts-dejavu-core fonts-liberation fonts-wqy-zenhei
  )
  # Debian and Ubuntu ship venv/ensurepip separately (python3-venv, or python3.X-venv for another interpreter).
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    [ "$PYTHON" = python3 ] || fail "$PYTHON not found"
    packages+=(python3 python3-venv)
  elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if [ "$PYTHON" = python3 ]; then packages+=(python3-venv); else packages+=("python$(python_version)-venv"); fi
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "installing system packages needs root: run as root or install sudo"
    echo "install.sh: sudo is needed once, to install system packages with apt-get: Qt's runtime libraries" \
         "for the window, python3-venv if missing, and the tools the tests use. Nothing else runs as root."
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
elif ! command -v "$PYTHON" >/dev/null 2>&1; then
  fail "$PYTHON not found; install Python 3.11 or newer first"
fi

python_ok || fail "mediaseek needs Python 3.11 or newer; $PYTHON is $(python_version)"
"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 \
  || fail "$PYTHON cannot create virtual environments (install its venv package, e.g. python3-venv)"

"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The test extra pulls the export extra (PyTorch, open_clip) too; an end user needs only: pip install .
.venv/bin/python -m pip install -q -e '.[test]'
echo "installed: run tests with .venv/bin/python -m pytest; the app with .venv/bin/mediaseek"
