#!/usr/bin/env bash
# bimt's conv training step on the CPU path against PyTorch on the same model
# (Benchmarks/baselines/convnet_torch.py), side by side: each round runs bimt, PyTorch in
# its default NCHW layout and PyTorch channels_last (NHWC, bimt's layout), so the machine's
# noise falls on all three; prints each median (range) and bimt's speed-up.
# Usage: Benchmarks/conv-baselines.sh [rounds] [presets...]   (default: 3 convnet convnet-large)
# PRECISION=bf16 runs bimt with --precision bf16 and PyTorch under bf16 autocast (default fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
precision=${PRECISION:-fp32}
shift || true
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(convnet convnet-large)
python3 -c 'import torch' 2>/dev/null || { echo "PyTorch is needed for the baseline: pip install torch" >&2; exit 1; }
swift build -c release --product bimt >/dev/null
bimt=.build/release/bimt
threads=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for round in $(seq "$rounds"); do
    for preset in "${presets[@]}"; do
        ms=$("$bimt" bench train --preset "$preset" --device cpu --precision "$precision" --repeat 3 --json 2>/dev/null \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds_per_step"] * 1e3)')
        echo "$preset bimt $ms" | tee -a "$log" >&2
        for layout in nchw channels-last; do
            flag=(); [ "$layout" = nchw ] || flag=(--channels-last)
            ms=$(python3 Benchmarks/baselines/convnet_torch.py --preset "$preset" --threads "$threads" --steps 30 --precision "$precision" "${flag[@]}" \
                | sed -n 's/.*: \([0-9.]*\) ms\/step/\1/p')
            echo "$preset $layout $ms" | tee -a "$log" >&2
        done
    done
done
python3 - "$log" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    preset, side, ms = line.split()
    times[(preset, side)].append(float(ms))
presets = list(dict.fromkeys(p for p, _ in times))
span = lambda v: f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
print("| ms per step, median (range) | bimt CPU path | PyTorch NCHW | PyTorch channels_last | bimt's speed-up (NCHW / channels_last) |")
print("|---|---:|---:|---:|---:|")
for p in presets:
    b, n, c = (times[(p, s)] for s in ("bimt", "nchw", "channels-last"))
    mb = statistics.median(b)
    print(f"| `{p}` | {span(b)} | {span(n)} | {span(c)} | {statistics.median(n) / mb:.2f}x / {statistics.median(c) / mb:.2f}x |")
PY
