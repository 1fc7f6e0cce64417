#!/usr/bin/env bash
# Router benchmark on a GPU machine: installs the `gpu` extra (onnxruntime-gpu), trains and exports a router on the
# bundled sample (or RouteLLM when ../shared/data is present) unless a router directory is given, then benchmarks
# CUDA and CPU execution providers against the PyTorch path.
#
#   bash benchmarks/router_gpu.sh [ROUTER_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTER_DIR="${1:-}"

python -m pip install -e '.[gpu]'
# onnxruntime and onnxruntime-gpu install the same module: keep only the GPU build
if python -c "import onnxruntime as o, sys; sys.exit(0 if 'CUDAExecutionProvider' in o.get_available_providers() else 1)"; then
  echo "onnxruntime: CUDA execution provider available"
else
  python -m pip uninstall -y onnxruntime || true
  python -m pip install --force-reinstall --no-deps "onnxruntime-gpu>=1.18"
fi
nvidia-smi || echo "warning: nvidia-smi not found"

if [ -z "$ROUTER_DIR" ]; then
  ROUTER_DIR="$(mktemp -d)/router"
  python - "$ROUTER_DIR" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from router_bench import _train_default
directory = Path(sys.argv[1]); directory.mkdir(parents=True, exist_ok=True)
_train_default(directory)
print(f"router written to {directory}")
PY
fi

python benchmarks/router_bench.py "$ROUTER_DIR" --device all --batch-sizes 1,8,32,128
