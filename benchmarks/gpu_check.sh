#!/usr/bin/env bash
# The checks that need a CUDA GPU, as one run on a lent GPU machine (about 3 minutes on an H200): the throughput
# figures of the README's GPU section with torch.profiler's top operations and the three ways to host memory, then
# the engine's tests, whose fields run on the GPU there (FieldConfig's device defaults to auto), tests/test_gpu.py
# among them. Writes into $1 (default .).
#
# The tracked tree is larger than what travels to a lent machine (64 MiB): move benchmarks/results aside first (no
# engine test reads it) and back after. The machine's image lacks captum, tomli-w and tomlkit: carry them as wheels.
#   bash benchmarks/gpu_check.sh OUT_DIR
set -uo pipefail
out="${1:-.}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 -c "import sys, torch, torchvision, captum; print(sys.version.split()[0], torch.__version__, \
torchvision.__version__, 'captum', captum.__version__)" | tee -a "$out/gpu.txt"
timeout 150 python3 benchmarks/gpu_throughput.py --profile --host-copy 2>&1 | tee "$out/gpu_throughput.txt"
timeout 150 python3 -m pytest -v -p no:cacheprovider -p no:benchmark -o addopts="-ra" --tb=line -n 8 --dist loadfile \
    tests/test_gpu.py tests/test_field.py tests/test_field_of.py tests/test_crops_field.py tests/test_zeroth_order.py \
    tests/test_skip_bad.py tests/test_frozen_torchscript.py tests/test_layer_rules_any_format.py \
    tests/test_distance.py tests/test_methods.py tests/test_peers.py 2>&1 | grep -v PASSED | tee "$out/gpu_tests.txt"
