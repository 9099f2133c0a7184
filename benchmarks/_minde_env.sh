#!/usr/bin/env bash
# Create the separate virtual environment diffusion-mi (MINDE, Franzese et al., ICLR 2024) runs in.
# Usage: bash benchmarks/_minde_env.sh [VENV_DIR]   (default /tmp/minde-venv)
# torch first, pinned to the version this project's benchmarks use; then diffusion-mi 0.1.0 and
# what it declares (lightning, torchvision, torchaudio, ...). Measured: its unpinned torchvision /
# torchaudio moved torch to 2.14.1 (+cu130, PyPI's default Linux wheel; MINDE runs on the CPU).
# About 3 minutes and 5 GB of downloads; the minde venv is separate, the project's is untouched.
set -euo pipefail
VENV="${1:-/tmp/minde-venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q diffusion-mi==0.1.0
"$VENV/bin/python" -c "import torch, numpy; print('minde env ready:', torch.__version__, 'numpy', numpy.__version__)"
