"""Benchmarks: `make bench` (or `python -m bench`). They print figures and ratios
against a baseline measured in the same run; tests never assert times."""
