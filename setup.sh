#!/usr/bin/env bash
# Set up, build and run corpusflow on a Debian machine.
#   ./setup.sh demo   install missing packages, build (Release), run the demo pipeline
#   ./setup.sh test   install missing packages, build (Release), run the whole test suite
#   ./setup.sh build  install missing packages and build only
# Packages come from Debian (apt); nothing else is downloaded except the npm packages that the
# tokenizer parity tests use as an oracle (tests/oracles/package.json, from the npm registry).
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-demo}"
case "$mode" in demo|test|build) ;; *) echo "usage: $0 demo|test|build" >&2; exit 2 ;; esac

packages=(
  cmake ninja-build g++ pkg-config git
  libboost-iostreams-dev libboost-program-options-dev libzstd-dev zlib1g-dev zstd libxxhash-dev libtbb-dev
  libgtest-dev libsimdjson-dev libutf8proc-dev libsentencepiece-dev sentencepiece libpcre2-dev
  libopenmpi-dev openmpi-bin
  python3 python3-dev python3-jieba python3-numpy pybind11-dev
  time gzip bzip2 coreutils fortunes-zh
)
if [ "$mode" = test ]; then
  # libopenblas0: torch falls back to the reference BLAS without it (about 8x slower).
  packages+=(python3-torch libopenblas0)
  # Node.js runs the HuggingFace tokenizers oracle; keep an existing installation.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# Installed when missing, or when package-lock.json names packages newer than those installed.
if [ "$mode" = test ] && [ -f tests/oracles/package.json ] &&
  { [ ! -f tests/oracles/node_modules/.package-lock.json ] ||
    [ tests/oracles/package-lock.json -nt tests/oracles/node_modules/.package-lock.json ]; }; then
  echo "== installing the npm oracle packages (tests/oracles)"
  npm ci --prefix tests/oracles --no-audit --no-fund --loglevel=error ||
    echo "warning: npm install failed; the tokenizers and tiktoken parity tests will be skipped" >&2
fi

jobs=$(nproc)
werror=OFF
[ "${CI:-}" = true ] && werror=ON
echo "== building (Release) in build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCORPUSFLOW_WERROR="$werror" >/dev/null
cmake --build build -j "$jobs"

case "$mode" in
  demo) exec examples/demo.sh build/cli/corpusflow ;;
  test) exec ctest --test-dir build --output-on-failure -j "$jobs" ;;
  build) echo "== built build/cli/corpusflow" ;;
esac
