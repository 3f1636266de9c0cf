"""Speed and memory figures: ``python -m benchmarks`` writes one JSON document.

Each ``bench_*.py`` module provides ``run(ctx: Context) -> dict``; figures are
reported with a reference measured in the same run where one exists, as a
ratio, because the machine is shared and noisy.
"""
