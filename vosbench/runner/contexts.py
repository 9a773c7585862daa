"""Context managers around torch's global switches, shared by the runner's methods and the trainer.

Nothing here changes global state for longer than the ``with`` block: precision and TF32
switches are entered around each step, and seeded work runs on a forked RNG.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from vosbench.errors import ConfigError

AUTOCAST_DTYPES = {"amp-bf16": torch.bfloat16, "amp-fp16": torch.float16}


@contextlib.contextmanager
def precision_context(device: torch.device, precision: str) -> Iterator[None]:
    """Autocast for ``amp-*``; on CUDA, cuDNN TF32 on only for ``tf32``.

    ``fp16`` needs no context: the method casts its network and inputs to half itself (the
    whole-model ``.half()`` of releases such as RANet's), so nothing is autocast.

    PyTorch lets cuDNN convolutions use TF32 by default, so a plain "fp32" run on an Ampere or
    newer GPU would silently be TF32; here fp32 means fp32.
    """
    with contextlib.ExitStack() as stack:
        if device.type == "cuda":
            cudnn = torch.backends.cudnn
            stack.enter_context(
                cudnn.flags(
                    enabled=cudnn.enabled,
                    benchmark=cudnn.benchmark,
                    deterministic=cudnn.deterministic,
                    allow_tf32=precision == "tf32",
                )
            )
        if precision in AUTOCAST_DTYPES:
            stack.enter_context(torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision]))
        elif precision not in ("fp32", "tf32", "fp16"):
            raise ConfigError(f"unsupported precision {precision!r}")
        yield


@contextlib.contextmanager
def seeded(seed: int, *, cuda: bool = False) -> Iterator[None]:
    """Run the block with torch's generators seeded with ``seed``; the caller's RNG state is
    restored afterwards.

    Random-init runs (speed tests) are then reproducible: the same seed gives the same network
    and the same masks; a training run gives the same batches and weights. ``cuda`` forks the
    generators of every visible CUDA device too (training on a GPU draws from them).
    """
    devices = list(range(torch.cuda.device_count())) if cuda and torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
