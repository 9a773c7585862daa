"""Write a state dict the way PyTorch 0.3 did (test support for checkpoint conversion).

RGMP's released ``weights.pth`` was saved by PyTorch 0.3.1 from a GPU model. That format is
the pre-zip "legacy" layout: a pickled magic number, protocol version and system info, then
the pickled object, in which each tensor is rebuilt by ``torch._utils._rebuild_tensor(storage,
offset, size, stride)`` (the 0.3 rebuild function, not today's ``_rebuild_tensor_v2``) and
each storage is a persistent id ``('storage', torch.cuda.FloatStorage, key, 'cuda:0',
numel, None)``; then the list of storage keys and, per storage, its element count (int64) and raw
bytes. No BatchNorm ``num_batches_tracked`` entries (they arrived in 0.4) and no
``_metadata`` versions. This writer reproduces that layout so the loader is tested against
it without PyTorch 0.3.
"""

from __future__ import annotations

import pickle
import struct
import sys
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class _StorageRef:
    def __init__(self, key: str, tensor: torch.Tensor):
        self.key, self.tensor = key, tensor


class _LegacyPickler(pickle.Pickler):
    def __init__(self, file, location: str):
        super().__init__(file, protocol=2)
        self.location = location
        self.storages: list[_StorageRef] = []

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            kind = (
                torch.cuda.FloatStorage if self.location.startswith("cuda") else torch.FloatStorage
            )
            return ("storage", kind, obj.key, self.location, obj.tensor.numel(), None)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            ref = _StorageRef(str(len(self.storages)), obj.detach().float().contiguous().cpu())
            self.storages.append(ref)
            return torch._utils._rebuild_tensor, (
                ref,
                0,
                tuple(obj.shape),
                tuple(ref.tensor.stride()),
            )
        return NotImplemented


def save_like_pytorch03(
    state: Mapping[str, torch.Tensor], path: Path | str, location: str = "cuda:0"
) -> None:
    """Write ``state`` (float tensors) in PyTorch 0.3's legacy format, storages tagged
    ``location``."""
    with open(path, "wb") as handle:
        pickle.dump(MAGIC_NUMBER, handle, protocol=2)
        pickle.dump(PROTOCOL_VERSION, handle, protocol=2)
        sys_info = {
            "protocol_version": PROTOCOL_VERSION,
            "little_endian": sys.byteorder == "little",
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        }
        pickle.dump(sys_info, handle, protocol=2)
        pickler = _LegacyPickler(handle, location)
        pickler.dump(OrderedDict(state))
        pickle.dump([ref.key for ref in pickler.storages], handle, protocol=2)
        handle.flush()
        for ref in pickler.storages:
            handle.write(struct.pack("<q", ref.tensor.numel()))
            handle.write(ref.tensor.numpy().tobytes())
