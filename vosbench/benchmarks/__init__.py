"""Benchmark families beyond DAVIS: their scoring rules, synthetic layouts and submission files.

Torch-free, like the evaluator: every module here is imported by evaluation and report code.
"""
