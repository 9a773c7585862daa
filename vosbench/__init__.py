"""vosbench: benchmark video object segmentation methods under one protocol."""

__version__ = "0.1.0"
