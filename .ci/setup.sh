#!/bin/sh
# Install convviz into ./.venv, a virtual environment of its own.
#
#   .ci/setup.sh        the app:            then .venv/bin/convviz
#   .ci/setup.sh test   the app and tests:  then .venv/bin/python -m pytest
#
# A virtual environment, because Debian and Ubuntu refuse `pip install` into the system's
# Python (PEP 668). On Debian and Ubuntu the system packages a fresh machine lacks are
# installed with apt-get (through sudo, which asks for your password): python3-venv, and
# the libraries Qt needs to draw, such as libxcb-cursor0 for windows on X11.
# PYTHON=python3.12 .ci/setup.sh picks another Python (3.11 or newer).
set -eu
cd "$(dirname "$0")/.."

case "${1:-run}" in
run) spec="." ;;
test) spec="-e .[test]" ;;
*)
    echo "usage: .ci/setup.sh [test]" >&2
    exit 2
    ;;
esac
python=${PYTHON:-python3}
venv=.venv

say() { printf 'setup: %s\n' "$*"; }

if ! command -v "$python" >/dev/null 2>&1; then
    say "no $python found: install Python 3.11 or newer first" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "convviz needs Python 3.11 or newer; $python is $("$python" -V 2>&1)." >&2
    say "Install a newer one (e.g. sudo apt-get install python3.12 python3.12-venv)" >&2
    say "and run PYTHON=python3.12 .ci/setup.sh" >&2
    exit 1
fi

updated=""
apt_install() { # apt_install PACKAGE... : Debian/Ubuntu only, as root or through sudo
    if ! command -v apt-get >/dev/null 2>&1; then
        say "please install the system packages that provide: $*" >&2
        return 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        say "run as root: apt-get install $*" >&2
        return 1
    fi
    say "installing system packages: $*"
    if [ -z "$updated" ]; then
        $sudo apt-get update -qq
        updated=yes
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install "python$version-venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment $venv"
    "$python" -m venv "$venv"
fi
say "installing convviz ($spec) into $venv"
# shellcheck disable=SC2086  # $spec is one or two words
"$venv/bin/python" -m pip install --disable-pip-version-check -q $spec

# System libraries Qt loads that this machine lacks, read from the linker: nothing already
# there is installed again. Tests need only the offscreen platform; the app, the X11 one
# too. A library installed may need others in turn, hence a few rounds.
qt=$("$venv/bin/python" -c 'import os, PySide6; print(os.path.dirname(PySide6.__file__))')
libs="$qt/QtWidgets.abi3.so $qt/Qt/plugins/platforms/libqoffscreen.so"
if [ "${1:-run}" = run ]; then
    libs="$libs $qt/Qt/plugins/platforms/libqxcb.so"
fi
missing_packages() {
    # shellcheck disable=SC2086
    for so in $(ldd $libs 2>/dev/null | awk '/not found/ {print $1}' | sort -u); do
        case "$so" in
        libEGL.so.*) echo libegl1 ;;
        libGL.so.*) echo libgl1 ;;
        libOpenGL.so.*) echo libopengl0 ;;
        libxkbcommon.so.*) echo libxkbcommon0 ;;
        libxkbcommon-x11.so.*) echo libxkbcommon-x11-0 ;;
        libfontconfig.so.*) echo libfontconfig1 ;;
        libfreetype.so.*) echo libfreetype6 ;;
        libglib-2.0.so.* | libgthread-2.0.so.*) echo libglib2.0-0 ;;
        libdbus-1.so.*) echo libdbus-1-3 ;;
        libX11-xcb.so.*) echo libx11-xcb1 ;;
        libX11.so.*) echo libx11-6 ;;
        libxcb.so.*) echo libxcb1 ;;
        libxcb-*.so.*) # libxcb-cursor.so.0 -> libxcb-cursor0, libxcb-render-util.so.0 -> ...0
            echo "$so" | sed 's/^\(libxcb-[a-z-]*\)\.so\.\([0-9]*\).*/\1\2/' ;;
        *) say "Qt needs $so, which this script does not know how to install" >&2 ;;
        esac
    done
}
for _round in 1 2 3; do
    packages=$(missing_packages | sort -u | tr '\n' ' ')
    [ -n "$packages" ] || break
    # shellcheck disable=SC2086
    apt_install $packages
done
if ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -q .; }; then
    apt_install fontconfig fonts-dejavu-core # Qt draws no text without a font
fi
if [ "${1:-run}" = run ]; then
    say "done: start convviz with .venv/bin/convviz"
else
    say "done: run the tests with .venv/bin/python -m pytest"
fi
