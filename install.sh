#!/usr/bin/env bash
# Installs everything mediaseek and its tests need on a fresh Debian/Ubuntu machine:
# system packages (apt-get), then a virtual environment in .venv with the project.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Qt's runtime libraries and its X11 (xcb) platform plugin for the desktop app; Xvfb,
  # xdotool and ImageMagick for the end-to-end window test; real photos for the parity
  # tests; the .desktop validator and gio for the file-manager integration tests; real fonts
  # (Latin and Chinese) the text-in-photos tests draw with.
  $SUDO apt-get install -y -qq --no-install-recommends \
    libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 \
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-image0 \
    libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libx11-xcb1 \
    xvfb xdotool imagemagick \
    mate-backgrounds desktop-file-utils libglib2.0-bin \
    fonts-dejavu-core fonts-liberation fonts-wqy-zenhei >/dev/null
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "installed: run tests with .venv/bin/python -m pytest; the app with .venv/bin/mediaseek"
