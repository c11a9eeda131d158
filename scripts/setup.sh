#!/usr/bin/env bash
# Install everything hiaudio needs, for the studio and for the tests, on a Debian machine.
# Run as root (or with sudo available). Idempotent and quick when all is installed: apt is
# skipped when every Debian package is present, and pip only confirms what is satisfied.
#
#   bash scripts/setup.sh            # PYTHON=python3.11 bash scripts/setup.sh for another one
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
# packages.txt is what a Hugging Face Space installs; the rest is for tests and builds:
# chromium for browser tests (Playwright drives /usr/bin/chromium), g++ to build pyworld.
# (MBROLA and its voices are training data only, from Debian's non-free component: see
# hiaudio/data/README.md; the tests that need them skip without them.)
mapfile -t APT_PACKAGES < <(grep -v '^\s*\(#\|$\)' packages.txt)
APT_PACKAGES+=(chromium g++ make)
# the choir report set's soundfonts (hiaudio/data/families.py: gmbank, opl3); data and tests only
APT_PACKAGES+=(csound-soundfont opl3-soundfont)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    missing+=(python3-pip python3-dev)  # Debian's own python3 comes without pip
fi
if ((${#missing[@]})); then
    echo "setup: apt-get install ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's python3 refuses system-wide installs (PEP 668) unless told; pyenv's ignores this.
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
pip_install() { "$PYTHON" -m pip install -q "$@"; }

# Print the requirements (of the files given) that the installed versions do not satisfy.
unmet() {
    "$PYTHON" - "$@" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for path in sys.argv[1:]:
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line:
            continue
        req = Requirement(line)
        try:
            ok = req.specifier.contains(version(req.name), prereleases=True)
        except PackageNotFoundError:
            ok = False
        if not ok:
            print(line)
PY
}

if [ -z "$(unmet requirements.txt requirements-dev.txt)" ]; then
    echo "setup: all requirements already installed"
    exit 0
fi
pip_install -r requirements.txt "setuptools<81"
# pyworld ships only an sdist, whose build (and whose import: it uses pkg_resources) needs
# setuptools<81: build it against the installed numpy outside pip's isolated build env.
pyworld_req="$(grep -E '^pyworld' requirements-dev.txt)"
if [ -n "$(unmet <(echo "$pyworld_req"))" ]; then
    pip_install --no-build-isolation "$pyworld_req"
fi
pip_install -r requirements-dev.txt
left="$(unmet requirements.txt requirements-dev.txt)"
if [ -n "$left" ]; then
    echo "setup: still not satisfied after pip install:" $left >&2
    exit 1
fi
echo "setup: ok"
