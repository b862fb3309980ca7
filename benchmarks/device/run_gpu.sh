#!/usr/bin/env bash
# The whole GPU check in one command, on a CUDA machine that reaches no package registry:
# build llama-cpp-python 0.3.36 for CUDA from the carried source (without the mtmd and common libraries
# the project never loads, as `make` builds it), install the carried wheels,
# run benchmarks/gpu_offload.py and the GPU tests, and write every result under $OUT.
#
#   benchmarks/device/prepare_carry.sh          # here, first: fills benchmarks/device/carry/ (git-ignored)
#   OUT=/tmp/out benchmarks/device/run_gpu.sh   # there, from the repository root, carrying benchmarks/device/carry
#
# Expects Python 3.12 with CMake, ninja, scikit-build-core and nvcc on the machine (a CUDA image with
# PyTorch). Settings: TARGET (build folder, default /tmp/llama-cuda), CUDA_ARCHITECTURES (default 90:
# H100/H200; one architecture keeps the CUDA build to minutes), SHAPES (benchmark shapes, default
# "tinyllama-1.1b smollm2-135m"), PYTHON (default python3), EXTRA_CMAKE_ARGS (appended, e.g.
# -DGGML_CUDA_FA=OFF: the prior turns flash attention off, and build_phases.json shows what its kernels cost).
#
# $OUT receives: environment.txt (GPU, driver, toolchain), build.log, build_phases.json (where the
# build's time went), gpu_offload-SHAPE.json (one benchmark report per shape), test_prior_gpu.log and
# .xml (the GPU tests and the backend's CPU-path tests on this build), run_gpu.log (everything).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CARRY="${CARRY:-$REPO/benchmarks/device/carry}"
OUT="${OUT:?set OUT to the folder for the results}"
TARGET="${TARGET:-/tmp/llama-cuda}"
CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}"
SHAPES="${SHAPES:-tinyllama-1.1b smollm2-135m}"
PY="${PYTHON:-python3}"
LLAMA_VERSION=0.3.36
CORES="$(nproc)"

[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="/usr/local/cuda/bin:$PATH"
mkdir -p "$OUT" "$TARGET"
exec > >(tee "$OUT/run_gpu.log") 2>&1
cd "$REPO"
stamp() { echo "[$(date +%T)] $*"; }
[[ -f "$CARRY/llama-cpp-python-$LLAMA_VERSION-trimmed.tar.gz" ]] ||
    { echo "error: $CARRY has no trimmed source; run benchmarks/device/prepare_carry.sh first and carry its folder"; exit 2; }

{
    nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv
    nvcc --version | tail -2
    cmake --version | head -1
    "$PY" --version
    echo "cores: $CORES"
} >"$OUT/environment.txt" 2>&1 || true
cat "$OUT/environment.txt"

stamp "environment: a venv over the image's packages, the carried wheels for what it lacks"
"$PY" -m venv --system-site-packages "$TARGET/venv"
VPY="$TARGET/venv/bin/python"
"$VPY" -m pip install --quiet --no-index --find-links "$CARRY/wheels" \
    gguf rapidfuzz tomli-w diskcache jinja2 typing-extensions numpy pytest

status=0
if compgen -G "$TARGET/wheelhouse/llama_cpp_python-$LLAMA_VERSION-*.whl" >/dev/null; then
    stamp "build: reusing $(ls "$TARGET"/wheelhouse/llama_cpp_python-*.whl) (a rerun on this machine)"
else
    stamp "build: llama-cpp-python $LLAMA_VERSION, CUDA architecture $CUDA_ARCHITECTURES, $CORES jobs"
    rm -rf "$TARGET/src" && mkdir -p "$TARGET/src"
    tar xzf "$CARRY/llama-cpp-python-$LLAMA_VERSION-trimmed.tar.gz" -C "$TARGET/src"
    started=$(date +%s)
    CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHITECTURES -DLLAVA_BUILD=OFF \
-DCMAKE_PROJECT_llama.cpp_INCLUDE=$REPO/cmake/llama-cpp-python-minimal.cmake ${EXTRA_CMAKE_ARGS:-}" \
        CMAKE_BUILD_PARALLEL_LEVEL="$CORES" \
        "$VPY" -m pip wheel --no-build-isolation --no-deps --no-index -C build-dir="$TARGET/cmake" \
        -w "$TARGET/wheelhouse" "$TARGET/src/llama_cpp_python-$LLAMA_VERSION" >"$OUT/build.log" 2>&1 ||
        { tail -40 "$OUT/build.log"; echo "error: the CUDA build failed; see build.log"; exit 1; }
    stamp "built in $(($(date +%s) - started)) s"
    "$VPY" benchmarks/device/build_phases.py "$TARGET/cmake/.ninja_log" --json >"$OUT/build_phases.json"
    cat "$OUT/build_phases.json"
fi
"$VPY" -m pip install --quiet --no-index --no-deps --force-reinstall "$TARGET"/wheelhouse/llama_cpp_python-*.whl
"$VPY" -c "import llama_cpp, sys; sys.exit(not llama_cpp.llama_supports_gpu_offload())" ||
    { echo "error: this llama-cpp-python has no GPU offload; the CPU halves still run"; status=1; }

stamp "GPU tests, and the backend's tests on this build's CPU path"
"$VPY" -m pytest -q -rs -p no:cacheprovider --junitxml="$OUT/test_prior_gpu.xml" \
    tests/prior/test_prior_gpu.py tests/prior/test_prior_backend.py tests/prior/test_prior_gpu_benchmark.py \
    2>&1 | tee "$OUT/test_prior_gpu.log" || status=1

for shape in $SHAPES; do
    stamp "benchmark: $shape"
    "$VPY" benchmarks/gpu_offload.py --shape "$shape" --threads "$CORES" --json >"$OUT/gpu_offload-$shape.json" || status=1
    cat "$OUT/gpu_offload-$shape.json"
done
stamp "done (status $status)"
exit $status
