"""The warm-up of the PyTorch baselines: the same as `bimt bench train`'s (Sources/bimt/BenchTrainCommand.swift).

With --warmup N, N untimed steps; without, untimed steps until their times settle (bimt's Warmup.settle in
Sources/BIMTCompute/GemmBenchmark.swift: windows of 3 steps until a window's median is within 5 % of the previous
window's and 0.25 s have passed, or until 20 s have). Then one more untimed step: the one bimt times to choose its
round length. So each side takes the same number of steps before it starts timing.
"""
import statistics
import time


def settle(run, window=3, tolerance=0.05, minimum_seconds=0.25, maximum_seconds=20.0):
    """bimt's Warmup.settle: calls run() (one step; it returns its seconds) in windows of `window` until a
    window's median is within `tolerance` of the previous window's and `minimum_seconds` have passed, or
    until `maximum_seconds` have. Returns the number of calls."""
    start = time.perf_counter()
    previous, runs = None, 0
    while True:
        times = []
        for _ in range(max(1, window)):
            times.append(run())
            runs += 1
        current = statistics.median(times)
        elapsed = time.perf_counter() - start
        if previous is not None and abs(current - previous) <= tolerance * previous and elapsed >= minimum_seconds:
            return runs
        if elapsed >= maximum_seconds:
            return runs
        previous = current


def warm_up(run, steps=None):
    """The untimed steps before the timed ones, taken as `bimt bench train` takes them: `steps` (its --warmup)
    when given, else until the step times settle; then the round-length step. Returns how many were taken."""
    if steps is None:
        taken = settle(run)
    else:
        for _ in range(steps):
            run()
        taken = steps
    run()  # bimt's round-length step, untimed in its figures
    return taken + 1
