#!/usr/bin/env bash
# Install, train the default model on data/, evaluate it on the test split, score the sample articles.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
stance data validate data/corpus
stance train                                               # -> models/default/
stance data export --split test -o reports/test.jsonl
stance evaluate models/default reports/test.jsonl --report reports/default
stance predict models/default data/samples/articles.jsonl --articles \
    -o reports/sample-pairs.jsonl --summary reports/sample-summary.csv
echo "model: models/default   report: reports/default/report.md   scores: reports/sample-pairs.jsonl, reports/sample-summary.csv"
