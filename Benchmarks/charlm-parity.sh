#!/usr/bin/env bash
# charlm with BIMT off against an independent nanoGPT-style PyTorch run of the same recipe
# (Benchmarks/baselines/nanogpt_charlm.py), on each corpus and seed: the final validation loss
# over every non-overlapping window of the last 10 % of the text, and the mean difference.
# Usage: Benchmarks/charlm-parity.sh [SEEDS] [CORPUS...]
#   (default seeds "1 2 3", corpora vim and fortunes from scripts/corpus; torch must be installed)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3"}
shift || true
corpora=("$@")
[ ${#corpora[@]} -gt 0 ] || corpora=(vim fortunes)
swift build -c release --product bimt >&2
bimt=.build/release/bimt
work=$(mktemp -d)
echo '{"evalBatches": null}' > "$work/all-windows.json"
printf 'corpus\tseed\tbimt\tPyTorch\tdifference\n'
for corpus in "${corpora[@]}"; do
  text="corpus/$corpus.txt"
  [ -f "$text" ] || scripts/corpus "$corpus" "$text" >&2
  for seed in $seeds; do
    "$bimt" train --preset charlm --text "$text" --lambda 0 --relocation off --seed "$seed" --config "$work/all-windows.json" \
      --device cpu --precision fp32 --quiet --out "$work/$corpus-$seed" > /dev/null
    # The last metrics row's test loss (every window of the validation split, full precision).
    ours=$(awk -F, 'END { printf "%.4f", $3 }' "$work/$corpus-$seed/metrics.csv")
    theirs=$(python3 Benchmarks/baselines/nanogpt_charlm.py "$text" --seed "$seed" | sed -n 's/.*windows \([0-9.]*\)$/\1/p')
    printf '%s\t%s\t%s\t%s\t%+.4f\n' "$corpus" "$seed" "$ours" "$theirs" "$(python3 -c "print($ours - $theirs)")"
  done
done | tee "$work/table.tsv"
python3 - "$work/table.tsv" <<'EOF'
import sys
rows = [line.split("\t") for line in open(sys.argv[1]) if not line.startswith("corpus")]
differences = [float(r[4]) for r in rows]
print(f"mean difference (bimt - PyTorch) over {len(rows)} runs: {sum(differences) / len(differences):+.4f}")
EOF
rm -rf "$work"
