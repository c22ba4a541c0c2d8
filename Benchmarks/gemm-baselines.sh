#!/usr/bin/env bash
# bimt's GEMM against its baselines, side by side in one run on this machine:
#   OpenCL device: bimt --device opencl vs CLBlast's SGEMM on the same device
#   CPU path:      bimt --device cpu vs OpenBLAS's cblas_sgemm called directly from C
# Usage: Benchmarks/gemm-baselines.sh [repeats] [sizes...]   (default: 10 64 512 1024 2048)
set -euo pipefail
cd "$(dirname "$0")/.."
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
"$bimt" bench gemm --device opencl --size "${sizes[@]}" --repeat "$repeats" --json > "$work/opencl.json" 2>/dev/null
"$work/clblast_sgemm" 0 0 "$repeats" "${sizes[@]}" > "$work/clblast.json"
"$bimt" bench gemm --device cpu --size "${sizes[@]}" --repeat "$repeats" --json > "$work/cpu.json" 2>/dev/null
# bimt restarts itself with OPENBLAS_CORETYPE set when OpenBLAS would take a generic core
# for an unrecognized CPU model (common in VMs); give the baseline the same core.
core=${OPENBLAS_CORETYPE:-$("$bimt" devices 2>/dev/null | sed -n 's/^cpu: .*OpenBLAS \([A-Za-z0-9]*\)).*/\1/p' | head -n 1)}
OPENBLAS_CORETYPE=$core "$work/openblas_sgemm" "$repeats" "${sizes[@]}" > "$work/openblas.json"
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
load = lambda name: json.load(open(os.path.join(w, name)))
ocl, clb, cpu, blas = (load(f + ".json") for f in ("opencl", "clblast", "cpu", "openblas"))
print(f"OpenCL device: {ocl['device']}; CPU path: {cpu['device']}; baseline {blas['library']}, {blas['threads']} threads")
print("GFLOP/s (median of runs); seconds for the smallest size show the host overhead of one launch")
print(f"{'N':>6} {'bimt OpenCL':>12} {'CLBlast':>9} {'ratio':>7} | {'bimt cpu':>9} {'OpenBLAS':>9} {'ratio':>7} | {'OpenCL/OpenBLAS':>15} | {'OpenCL s':>10}")
for o, c, b, r in zip(ocl["results"], clb["results"], cpu["results"], blas["results"]):
    print(f"{o['m']:>6} {o['gflops']:>12.1f} {c['gflops']:>9.1f} {o['gflops']/c['gflops']:>6.2f}x | "
          f"{b['gflops']:>9.1f} {r['gflops']:>9.1f} {b['gflops']/r['gflops']:>6.2f}x | "
          f"{o['gflops']/r['gflops']:>14.2f}x | {o['seconds']:>10.6f}")
PY
