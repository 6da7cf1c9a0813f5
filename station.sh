#!/usr/bin/env bash
# Headblock set-up and entry: installs whatever is missing, then runs what was asked.
#   ./station.sh demo     the station window on the demo deck
#   ./station.sh test     the whole test suite
#   ./station.sh bench    the benchmarks (not part of the tests)
#   ./station.sh run ...  any `headblock` command inside the project's environment
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"

SYSTEM_PACKAGES=(
  libportaudio2 libsndfile1
  pulseaudio pulseaudio-utils
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core
  xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-render-util0 libxcb-image0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1
  ffmpeg mkvtoolnix mediainfo postgresql poppler-utils espeak-ng
  mediaconch
)

install_system() {
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "station: installing system packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
  local stamp="$VENV/.installed"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "station: creating $VENV" >&2
    python3 -m venv "$VENV"
  fi
  # Reinstall only when the project's declared dependencies changed.
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "station: installing Python packages" >&2
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[dev]"
    echo "$want" > "$stamp"
  fi
}

setup() {
  install_system
  install_python
}

cmd=${1:-demo}
shift || true
case "$cmd" in
  demo)
    setup
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      echo "station: no display found; starting the window on a virtual screen (Xvfb)" >&2
      exec xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/headblock" gui --demo "$@"
    fi
    exec "$VENV/bin/headblock" gui --demo "$@"
    ;;
  test)
    setup
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check . >/dev/null || { "$VENV/bin/ruff" format --check .; exit 1; }
    "$VENV/bin/lint-imports" --no-cache >/dev/null || { "$VENV/bin/lint-imports" --no-cache; exit 1; }
    echo "station: import contracts kept (layers; Qt only in app/)" >&2
    export QT_QPA_PLATFORM=offscreen
    exec "$VENV/bin/python" -m pytest -q "$@"
    ;;
  bench)
    setup
    exec "$VENV/bin/python" -m bench "$@"
    ;;
  run)
    setup
    exec "$VENV/bin/headblock" "$@"
    ;;
  *)
    echo "usage: ./station.sh demo|test|bench|run [ARGS...]" >&2
    exit 2
    ;;
esac
