#!/usr/bin/env bash
# gpt-small's training step on the CPU path in fp32 and bf16 against PyTorch's fp32 step and
# its bf16 autocast step (Benchmarks/baselines/gpt_bench_torch.py), side by side: each round
# runs all four, so the machine's noise falls on each; prints each median (range) and bimt's
# speed-up over PyTorch at the same precision.
# Usage: Benchmarks/precision-baselines.sh [rounds] [batch]   (default: 3 rounds, batch 16)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
batch=${2:-16}
python3 -c 'import torch' 2>/dev/null || { echo "PyTorch is needed for the baseline: pip install torch" >&2; exit 1; }
[ -f corpus/vim.txt ] || scripts/corpus vim >&2
swift build -c release --product bimt >/dev/null
bimt=.build/release/bimt
threads=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for round in $(seq "$rounds"); do
    for precision in fp32 bf16; do
        ms=$("$bimt" bench train --preset gpt-small --text corpus/vim.txt --batch-size "$batch" --dropout 0 \
                --device cpu --precision "$precision" --timed-steps 5 --warmup 2 --repeat 1 --eval-batches 1 --json \
                2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds_per_step"] * 1e3)')
        echo "bimt $precision $ms" | tee -a "$log" >&2
        ms=$(python3 Benchmarks/baselines/gpt_bench_torch.py --gpt-small --batch "$batch" --threads "$threads" \
                --steps 5 --warmup 2 --precision "$precision" 2>/dev/null | sed -n 's/.*: \([0-9.]*\) ms\/step.*/\1/p')
        echo "pytorch $precision $ms" | tee -a "$log" >&2
    done
done
python3 - "$log" "$batch" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, precision, ms = line.split()
    times[(side, precision)].append(float(ms))
span = lambda v: f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})"
print(f"gpt-small, batch {sys.argv[2]}, ms per step, median (range):")
print("| precision | bimt CPU path | PyTorch | bimt's speed-up |")
print("|---|---:|---:|---:|")
for p in ("fp32", "bf16"):
    b, t = times[("bimt", p)], times[("pytorch", p)]
    label = p if p == "fp32" else "bf16 (PyTorch: autocast)"
    print(f"| {label} | {span(b)} | {span(t)} | {statistics.median(t) / statistics.median(b):.2f}x |")
PY
