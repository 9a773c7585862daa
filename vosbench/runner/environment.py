"""The environment record stored once per run (versions, hardware), so a figure can be
reproduced."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

import vosbench


def environment(device: torch.device) -> dict[str, Any]:
    """Versions, CPU/GPU and host facts (the host name only as a hash)."""
    import cv2
    import numpy
    import PIL

    record: dict[str, Any] = {
        "vosbench": vosbench.__version__,
        "git": git_revision(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "pillow": PIL.__version__,
        "os": platform.platform(),
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": _load_average(),  # CPU speed figures compare only on an idle machine
        "host": hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12],
    }
    if torch.cuda.is_available():
        record.update(
            {
                "cuda_runtime": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(),
                "gpu_count": torch.cuda.device_count(),
                "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
                "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            }
        )
    if device.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(device)
    return record


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The git commit of the vosbench checkout (None for an installed release), '+dirty' if
    edited."""
    root = Path(vosbench.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None
