"""Benchmarks: `python bench/<name>.py` from the repository root; results land in bench/results/."""
