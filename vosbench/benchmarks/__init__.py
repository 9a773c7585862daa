"""Benchmark rules beyond DAVIS's: which objects and frames are scored, the global numbers and
the official output files of each benchmark (torch-free; one module per benchmark family)."""
