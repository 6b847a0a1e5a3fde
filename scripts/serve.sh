#!/usr/bin/env bash
# Sets up the toolchain and shows the shipped model at work. The web app (issue 7) is not built
# yet, so until then this classifies an example text with the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
text="${1:-最近压力好大，什么都不想做，觉得活着没意思}"
cargo run --quiet -- predict --model models/char-ngram "$text"
