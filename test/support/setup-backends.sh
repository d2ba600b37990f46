#!/usr/bin/env bash
# Installs the independent backends that the tests cross-check against:
#   - moto (pinned in requirements-dev.txt) into the project's .venv;
#   - the CNCF distribution registry (Debian's docker-registry), when run as
#     root on Debian/Ubuntu; otherwise it says how to install it.
# Neither is needed for `npm run demo`, nor for the tests to pass on a laptop
# (those tests skip loudly); CI (CI=true) needs both and fails without them.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${PYTHON:-python3}
if ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  # Absent, or unusable (a dangling link, a venv of a Python that is gone): made anew.
  rm -rf .venv
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "moto $(.venv/bin/python -c 'import moto; print(moto.__version__)') in .venv"

if command -v docker-registry >/dev/null 2>&1 || [ -n "${DOCKER_REGISTRY_BIN:-}" ]; then
  echo "distribution registry: ${DOCKER_REGISTRY_BIN:-$(command -v docker-registry)}"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  echo "distribution registry: installed $(command -v docker-registry)"
else
  echo "distribution registry: not installed; the registry cross-checks will skip. Install it with: sudo apt-get install docker-registry"
fi
