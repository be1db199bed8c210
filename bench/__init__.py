"""Benchmarks for the campaign dashboard: `python -m bench [name ...] [--quick]`.

Each benchmark measures the numbers it compares side by side in one run (these machines
are noisy, so a ratio of two runs made minutes apart would mostly measure the noise) and
prints them with their goal. Results and the command that made them go into
docs/BENCHMARKS.md.
"""
