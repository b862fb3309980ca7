#!/usr/bin/env bash
# Build benchmarks/device/carry/ (git-ignored): everything a CUDA machine with no registry access
# needs to run benchmarks/device/run_gpu.sh, under the 64 MiB a device run may carry.
#
#   benchmarks/device/prepare_carry.sh            # download, trim, pack, check the size
#   benchmarks/device/prepare_carry.sh --check DIR   # only check that DIR fits in a device run
#   VERIFY_BUILD_DIR=/tmp/llama-build benchmarks/device/prepare_carry.sh
#       # also build the trimmed tree here (CPU, the libraries make builds), keeping CMake's
#       # build folder (its .ninja_log feeds benchmarks/device/build_phases.py) and the wheel there
#
# The carry holds:
#   llama-cpp-python-0.3.36-trimmed.tar.gz  the sdist less what its build never reads: llama.cpp's
#       vocab test files (models/), docs, tests, examples, benches, tools other than mtmd, the web UI,
#       gguf-py/conversion scripts, and the sdist's .git (a 38 MB pack of history; the build only asks
#       git for a commit id and falls back to "unknown" without it; the id is kept in MANIFEST.txt)
#   wheels/   cp312 manylinux x86_64 wheels the benchmark and the GPU test import that a CUDA image
#       with PyTorch lacks (gguf, rapidfuzz, tomli-w, pytest, diskcache, ... and their dependencies);
#       run_gpu.sh installs from it with --no-index, so packages the image already has are kept
#   MANIFEST.txt  what went in, with sizes
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CARRY="${CARRY:-$REPO/benchmarks/device/carry}"
LLAMA_VERSION=0.3.36
LIMIT_BYTES=$((64 * 1024 * 1024))
PY="${PYTHON:-python3}"
# What the device must import beyond its image: llama-cpp-python's runtime dependencies, the
# benchmark's (gguf writes the model), the agents package's (rapidfuzz, tomli-w), the test runner.
WHEELS=(gguf rapidfuzz tomli-w diskcache jinja2 typing-extensions numpy pytest)

check_size() {
    local total
    total=$(du -sb "$1" | cut -f1)
    echo "carry: $1, $total bytes ($((total / 1024 / 1024)) MiB; limit 64 MiB)" >&2
    if ((total >= LIMIT_BYTES)); then
        echo "error: $1 is $total bytes, over the 64 MiB a device run can carry; trim more" >&2
        return 1
    fi
}

if [[ "${1:-}" == --check ]]; then
    check_size "${2:?--check needs a folder}"
    exit
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

rm -rf "$CARRY"
mkdir -p "$CARRY/wheels"

echo "downloading the llama-cpp-python $LLAMA_VERSION sdist" >&2
"$PY" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_VERSION" -d "$WORK/sdist"
tar xzf "$WORK/sdist/llama_cpp_python-$LLAMA_VERSION.tar.gz" -C "$WORK"
SRC="$WORK/llama_cpp_python-$LLAMA_VERSION"
VENDOR="$SRC/vendor/llama.cpp"
LLAMA_CPP_COMMIT="$(git -C "$VENDOR" rev-parse HEAD 2>/dev/null || echo unknown)"

rm -rf "$SRC"/{.git,docs,examples,tests,docker} "$VENDOR/.git"
rm -rf "$VENDOR"/{models,docs,tests,benches,examples,pocs,media,gguf-py,conversion,app,ci,skills}
find "$VENDOR/tools" -mindepth 1 -maxdepth 1 ! -name mtmd -exec rm -rf {} +  # mtmd stays: LLAVA_BUILD=ON still works
tar czf "$CARRY/llama-cpp-python-$LLAMA_VERSION-trimmed.tar.gz" -C "$WORK" "llama_cpp_python-$LLAMA_VERSION"

echo "downloading cp312 wheels: ${WHEELS[*]}" >&2
"$PY" -m pip download --quiet --only-binary :all: --implementation cp --python-version 3.12 --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$CARRY/wheels" "${WHEELS[@]}"

{
    echo "llama-cpp-python $LLAMA_VERSION sdist, trimmed; vendored llama.cpp commit $LLAMA_CPP_COMMIT"
    echo "trimmed tree: $(du -sb "$SRC" | cut -f1) bytes unpacked"
    (cd "$CARRY" && find . -type f ! -name MANIFEST.txt -printf '%s\t%P\n' | sort -k2)
} >"$CARRY/MANIFEST.txt"

check_size "$CARRY"

if [[ -n "${VERIFY_BUILD_DIR:-}" ]]; then
    # The trimmed tree must still build: a CPU build here, of the libraries the device builds (no mtmd, no common).
    echo "verifying: building the trimmed tree (CPU, as make builds it) in $VERIFY_BUILD_DIR" >&2
    rm -rf "$VERIFY_BUILD_DIR" && mkdir -p "$VERIFY_BUILD_DIR"
    started=$(date +%s)
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$REPO/cmake/llama-cpp-python-minimal.cmake" \
        "$PY" -m pip wheel --no-deps --no-cache-dir -C build-dir="$VERIFY_BUILD_DIR/cmake" \
        -w "$VERIFY_BUILD_DIR" "$SRC"
    echo "built $(ls "$VERIFY_BUILD_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl) in $(($(date +%s) - started)) s" >&2
fi
