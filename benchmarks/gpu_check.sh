#!/usr/bin/env bash
# Every check of the torch engine that needs an NVIDIA GPU, in one pass of a few minutes:
#
#   1. the machine: GPU, driver, PyTorch, CUDA and cuDNN versions;
#   2. the torch engine's tests, including tests/torch_engine/test_torch_cuda.py (cuDNN's kernels
#      against the explicit loop and the CPU in float64, bf16 autocast training, a GPU checkpoint
#      resumed on the CPU and run by the NumPy engine), which are skipped on machines without a GPU;
#   3. a one-minute training run on the GPU (bf16 autocast), whose checkpoint is copied to $OUT so it
#      can be sampled and evaluated on a CPU-only machine with `--engine numpy`;
#   4. benchmarks/torch_speed.py --device cuda (torch engine against nn.LSTM, both on the GPU);
#   5. benchmarks/torch_memory.py --device cuda (peak GPU memory at T = 1000);
#   6. a short --compile run.
#
# Usage, from the repository root, with a python3 that has a CUDA build of PyTorch:
#     OUT=gpu-out bash benchmarks/gpu_check.sh 2>&1 | tee gpu-check.log
# Each step has its own time limit, and a failing step does not stop the ones after it; the
# script's exit status is the number of failed steps.
set -u
OUT=${OUT:-gpu-out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 RNNKIT_CACHE=${RNNKIT_CACHE:-/tmp/rnnkit-cache}
failed=0

step() {  # step SECONDS NAME COMMAND...: run COMMAND under a time limit, report and count failures
    local limit=$1 name=$2
    shift 2
    echo
    echo "=== $name ($(date +%T), limit ${limit}s)"
    local start=$SECONDS
    timeout "$limit" "$@"
    local rc=$?
    echo "=== $name: exit $rc after $((SECONDS - start))s"
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

step 30 machine bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv && $PY -c \
'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"cudnn\", torch.backends.cudnn.version(), torch.cuda.get_device_name(), \"bf16\", torch.cuda.is_bf16_supported())'"
step 240 tests "$PY" -m pytest -q -p no:cacheprovider -rs tests/torch_engine
step 150 train "$PY" -m rnnkit train --engine torch --device cuda --hidden 256 --layers 2 --batch 64 \
    --seq-len 100 --minutes 1 --eval-every 500 --out /tmp/gpu-run --force --sample-length 200
cp /tmp/gpu-run/checkpoint.npz /tmp/gpu-run/metrics.jsonl "$OUT"/ 2>/dev/null
step 150 speed "$PY" benchmarks/torch_speed.py --device cuda --part all
step 120 memory "$PY" benchmarks/torch_memory.py --device cuda
step 150 compile "$PY" -m rnnkit train --engine torch --device cuda --compile --hidden 256 --steps 60 \
    --eval-every 60 --out /tmp/gpu-compile --force --sample-length 100
echo
echo "=== failed steps: $failed"
exit "$failed"
