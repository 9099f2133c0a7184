#!/usr/bin/env bash
# Create the separate virtual environment torch-mist 0.2.17 runs in (it pins numpy<2).
# Usage: bash benchmarks/_torch_mist_env.sh [VENV_DIR]   (default /tmp/tm-venv)
# torch first, pinned to the version this project's benchmarks use, so pip keeps it;
# torch-mist 0.2.17 imports pandas without declaring it: pandas<2.3 works with its numpy 1.26.
set -euo pipefail
VENV="${1:-/tmp/tm-venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q torch-mist==0.2.17
"$VENV/bin/pip" install -q "pandas<2.3"
"$VENV/bin/python" -c "import torch, numpy, torch_mist; print('torch-mist env ready:', torch.__version__, 'numpy', numpy.__version__)"
