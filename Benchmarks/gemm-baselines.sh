#!/usr/bin/env bash
# bimt's GEMM against its baselines, side by side in one run on this machine:
#   OpenCL device: bimt --device opencl vs CLBlast's SGEMM on the same device
#   CPU path:      bimt --device cpu vs OpenBLAS's cblas_sgemm called directly from C
# Usage: Benchmarks/gemm-baselines.sh [--rounds R] [repeats] [sizes...]   (default: 1 round, 10 64 512 1024 2048)
# With R rounds the four programs run in turn R times (so the machine's noise falls on all of
# them) and the table gives each one's median GFLOP/s and the median of the per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=1
if [ "${1:-}" = --rounds ]; then rounds=${2:?--rounds needs a count}; shift 2; fi
repeats=${1:-10}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(64 512 1024 2048)
swift build -c release --product bimt >/dev/null
bimt=.build/release/bimt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/clblast_sgemm" Benchmarks/baselines/clblast_sgemm.c $(pkg-config --cflags --libs clblast OpenCL)
cc -O2 -o "$work/openblas_sgemm" Benchmarks/baselines/openblas_sgemm.c $(pkg-config --cflags --libs openblas)
# bimt restarts itself with OPENBLAS_CORETYPE set when OpenBLAS would take a generic core
# for an unrecognized CPU model (common in VMs); give the baseline the same core.
core=${OPENBLAS_CORETYPE:-$("$bimt" devices 2>/dev/null | sed -n 's/^cpu: .*OpenBLAS \([A-Za-z0-9]*\)).*/\1/p' | head -n 1)}
for round in $(seq "$rounds"); do
    "$bimt" bench gemm --device opencl --size "${sizes[@]}" --repeat "$repeats" --json > "$work/opencl.$round.json" 2>/dev/null
    "$work/clblast_sgemm" 0 0 "$repeats" "${sizes[@]}" > "$work/clblast.$round.json"
    "$bimt" bench gemm --device cpu --size "${sizes[@]}" --repeat "$repeats" --json > "$work/cpu.$round.json" 2>/dev/null
    OPENBLAS_CORETYPE=$core "$work/openblas_sgemm" "$repeats" "${sizes[@]}" > "$work/openblas.$round.json"
done
python3 - "$work" "$rounds" <<'PY'
import json, os, statistics, sys
w, rounds = sys.argv[1], int(sys.argv[2])
load = lambda name, r: json.load(open(os.path.join(w, f"{name}.{r}.json")))
runs = {name: [load(name, r) for r in range(1, rounds + 1)] for name in ("opencl", "clblast", "cpu", "openblas")}
first = {name: runs[name][0] for name in runs}
gflops = lambda name, i: [run["results"][i]["gflops"] for run in runs[name]]
med = lambda name, i: statistics.median(gflops(name, i))
ratio = lambda a, b, i: statistics.median(x / y for x, y in zip(gflops(a, i), gflops(b, i)))
print(f"OpenCL device: {first['opencl']['device']}; CPU path: {first['cpu']['device']}; "
      f"baseline {first['openblas']['library']}, {first['openblas']['threads']} threads")
print(f"GFLOP/s (medians over {rounds} round(s) of the four programs in turn; ratios: median of the per-round ratios);"
      " seconds for the smallest size show the host overhead of one launch")
print(f"{'N':>6} {'bimt OpenCL':>12} {'CLBlast':>9} {'ratio':>7} | {'bimt cpu':>9} {'OpenBLAS':>9} {'ratio':>7} | {'OpenCL/OpenBLAS':>15} | {'OpenCL s':>10}")
for i, o in enumerate(first["opencl"]["results"]):
    seconds = statistics.median(run["results"][i]["seconds"] for run in runs["opencl"])
    print(f"{o['m']:>6} {med('opencl', i):>12.1f} {med('clblast', i):>9.1f} {ratio('opencl', 'clblast', i):>6.2f}x | "
          f"{med('cpu', i):>9.1f} {med('openblas', i):>9.1f} {ratio('cpu', 'openblas', i):>6.2f}x | "
          f"{ratio('opencl', 'openblas', i):>14.2f}x | {seconds:>10.6f}")
PY
