#!/usr/bin/env bash
# Create .venv and install alliance-stance with its test and ONNX extras, on a fresh machine.
# torch goes first and pinned: this machine's CPU build of 2.13.0; a looser pin pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[test,onnx]"
