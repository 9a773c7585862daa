"""Benchmark rules and layouts (VOST, SA-V …)."""
