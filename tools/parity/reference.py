"""Run the authors' original RGMP and FAN code (from their own checkouts) on CPU, for parity tests.

Why this exists: vosbench re-implements RGMP and FAN; to compare against the released code we
execute the authors' files as they are, from a checkout whose path is passed in (or taken from
``VOSBENCH_RGMP_REPO`` / ``VOSBENCH_FAN_REPO``).  Nothing of theirs is copied here:

* ``model.py`` and ``utils.py`` are imported by file path under private module names (so RGMP's
  and FAN's same-named files never collide, and repeated loads are independent);
* their inference scripts (RGMP ``run.py``, FAN ``val.py``) cannot be imported (argv parsing,
  dataset/weights/tensorboardX at module level), so only the needed *function definitions* are
  extracted with ``ast`` and executed in a namespace that supplies exactly the globals they use;
* ``torchvision`` is replaced by :mod:`standin_torchvision` (no CPU build here, no downloads).

Modern-PyTorch notes: ``Variable(..., volatile=True)`` is accepted but ignored, so all inference
here runs under ``torch.no_grad()`` (what volatile meant in 0.3); ``nn.DataParallel`` without GPUs
just calls the module; ``F.upsample(mode='bilinear')`` now means ``align_corners=False`` whereas
RGMP's PyTorch 0.3.1 behaved like ``align_corners=True`` -- see the ``align_corners`` argument.
Inputs follow their scripts: ``ToCudaVariable`` sends tensors to CUDA when CUDA is available, so
the model is placed there too in that case (as ``run.py``/``val.py`` do); on a CPU build it is CPU.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib.util
import itertools
import os
import subprocess
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as torch_F
from torch import nn

try:  # imported as tools.parity.reference (namespace package)
    from . import standin_torchvision
except ImportError:  # run with tools/parity on sys.path (scripts in this folder)
    import standin_torchvision  # type: ignore[no-redef]

__all__ = [
    "FAN_REPO_ENV",
    "RGMP_REPO_ENV",
    "FANReference",
    "RGMPReference",
    "load_fan",
    "load_rgmp",
    "pad_like_authors",
    "quiet",
]

RGMP_REPO_ENV = "VOSBENCH_RGMP_REPO"
FAN_REPO_ENV = "VOSBENCH_FAN_REPO"

PathLike = str | os.PathLike[str]
_counter = itertools.count()
_LINEAR_MODES = ("linear", "bilinear", "bicubic", "trilinear")


# ----------------------------------------------------------------------------------------------
# small utilities


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the two deprecation warnings their code triggers under modern torch.

    The wrappers here use it already; wrap direct calls into their modules (``ref.model...``,
    ``ref.propagate``) in ``with torch.no_grad(), quiet():`` when ``align_corners`` is None.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*nn\.functional\.upsample.* is deprecated")
        warnings.filterwarnings("ignore", message=r"volatile was removed")
        yield


class _FunctionalWithAlignCorners:
    """Stands in for ``torch.nn.functional`` inside *their* module namespaces only.

    Everything is forwarded to ``torch.nn.functional`` except ``upsample``, which calls
    ``interpolate`` with the chosen ``align_corners`` for linear modes (the pre-0.4 behaviour is
    ``True``).  The global ``torch.nn.functional`` is never modified.
    """

    def __init__(self, align_corners: bool) -> None:
        self.align_corners = bool(align_corners)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch_F, name)

    def upsample(self, input: torch.Tensor, size: Any = None, scale_factor: Any = None,
                 mode: str = "nearest", align_corners: bool | None = None) -> torch.Tensor:
        if align_corners is None and mode in _LINEAR_MODES:
            align_corners = self.align_corners
        return torch_F.interpolate(input, size, scale_factor, mode, align_corners)

    def __repr__(self) -> str:
        return f"<torch.nn.functional with upsample(align_corners={self.align_corners})>"


def _resolve_repo(repo: PathLike | None, env: str, required: Sequence[str]) -> Path:
    if repo is None:
        value = os.environ.get(env)
        if not value:
            raise ValueError(f"no checkout given: pass repo= or set ${env}")
        repo = value
    path = Path(repo).expanduser().resolve()
    missing = [name for name in required if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{path} is not the expected checkout: missing {', '.join(missing)}")
    return path


def _git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def _import_file(path: Path, tag: str) -> types.ModuleType:
    """Import one of their files under a private, unique module name (not put in sys.modules)."""
    name = f"_vosbench_ref_{tag}_{next(_counter)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_names(funcs: Sequence[ast.FunctionDef]) -> set[str]:
    """Names the functions read but never bind (approximate, enough to check a namespace)."""
    loaded: set[str] = set()
    bound: set[str] = {f.name for f in funcs}
    for func in funcs:
        for node in ast.walk(func):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
    return loaded - bound - set(dir(builtins))


def _exec_functions(path: Path, names: Sequence[str], namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute only the top-level ``def``s ``names`` of ``path`` in ``namespace``.

    Line numbers are kept, so tracebacks point into their file.  Raises if a function is missing
    or reads a global the namespace does not provide.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names}
    missing = [n for n in names if n not in found]
    if missing:
        raise LookupError(f"{path}: function(s) not found: {', '.join(missing)}")
    funcs = [found[n] for n in names]
    unknown = sorted(_free_names(funcs) - set(namespace))
    if unknown:
        raise NameError(f"{path}: extracted functions need globals not provided: {unknown}")
    namespace.setdefault("__name__", f"_vosbench_ref_{path.stem}_{next(_counter)}")
    namespace.setdefault("__file__", str(path))
    code = compile(ast.Module(body=funcs, type_ignores=[]), filename=str(path), mode="exec")
    exec(code, namespace)  # noqa: S102 - executing the authors' own definitions is the point
    return namespace


def _load_model_and_utils(repo: Path, tag: str, align_corners: bool | None
                          ) -> tuple[types.ModuleType, types.ModuleType]:
    standin_torchvision.install()
    model_module = _import_file(repo / "model.py", tag)
    utils_module = _import_file(repo / "utils.py", tag)
    if align_corners is not None:
        model_module.F = _FunctionalWithAlignCorners(align_corners)
    return model_module, utils_module


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _device() -> torch.device:
    # Their ToCudaVariable moves inputs to CUDA whenever it is available; follow it.
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------------------------
# padding through their DAVIS dataset class


def _pad_with_their_davis(utils_module: types.ModuleType, frames: np.ndarray, labels: np.ndarray,
                          num_objects: int | None, multi_object: bool
                          ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], tuple[int, int]]]:
    """Feed one sequence through their ``DAVIS`` class via a temporary DAVIS-layout folder.

    The padding lives inside ``DAVIS.__getitem__`` together with file reading, so to reuse it
    unchanged the frames are written losslessly (PNG bytes under their ``%05d.jpg`` names; PIL
    detects the format from content) and the labels as palette PNGs.
    """
    from PIL import Image

    frames = np.asarray(frames)
    labels = np.asarray(labels)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if labels.ndim == 2:
        labels = labels[None]
    if labels.dtype != np.uint8 or labels.ndim != 3 or labels.shape[1:] != frames.shape[1:3]:
        raise ValueError(f"labels must be uint8 (T, H, W) or (H, W) matching frames, got "
                         f"{labels.dtype} {labels.shape}")
    palette = [v for i in range(256) for v in (i, i, i)]
    seq = "seq"
    with tempfile.TemporaryDirectory(prefix="vosbench_ref_davis_") as tmp:
        root = Path(tmp)
        img_dir = root / "JPEGImages" / "480p" / seq
        ann_dir = root / "Annotations" / "480p" / seq
        img_dir.mkdir(parents=True)
        ann_dir.mkdir(parents=True)
        (root / "ImageSets").mkdir()
        (root / "ImageSets" / "list.txt").write_text(seq + "\n")
        for t, frame in enumerate(frames):
            Image.fromarray(frame, "RGB").save(img_dir / f"{t:05d}.jpg", format="PNG")
        for t, lab in enumerate(labels):  # a single label image: their loader reuses 00000.png
            img = Image.fromarray(lab, "L").convert("P")
            img.putpalette(palette)
            img.save(ann_dir / f"{t:05d}.png", format="PNG")
        dataset = utils_module.DAVIS(str(root) + os.sep, imset="list.txt", multi_object=multi_object)
        all_F, all_M, info = dataset[0]
    if num_objects is not None and int(info["num_objects"]) != int(num_objects):
        raise ValueError(f"num_objects={num_objects} but their loader finds "
                         f"{int(info['num_objects'])} (max label of frame 0)")
    (lh, uh), (lw, uw) = info["pad"]
    return all_F, all_M, ((int(lh), int(uh)), (int(lw), int(uw)))


def pad_like_authors(frames: np.ndarray, labels: np.ndarray, num_objects: int | None = None,
                     *, repo: PathLike | None = None, multi_object: bool = True
                     ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], tuple[int, int]]]:
    """Pad a sequence exactly as RGMP's ``DAVIS`` loader (their code, run unchanged).

    ``frames``: uint8 (T, H, W, 3); ``labels``: uint8 (T, H, W) index masks (or frame 0 only).
    ``multi_object=False`` is their DAVIS-2016 mode (every non-zero label is one object).
    Returns ``(all_F, all_M, pad)``: all_F float32 (1, 3, T, H', W') in [0, 1]; all_M int64
    one-hot (1, num_objects, T, H', W'); pad ``((top, bottom), (left, right))``.
    Note their rule always adds 1..32 px (480 -> 512, not 480).
    """
    path = _resolve_repo(repo, RGMP_REPO_ENV, ("utils.py",))
    standin_torchvision.install()
    utils_module = _import_file(path / "utils.py", "rgmp")
    return _pad_with_their_davis(utils_module, frames, labels, num_objects, multi_object)


# ----------------------------------------------------------------------------------------------
# RGMP


_RGMP_RUN_FUNCTIONS = ("Encode_MS", "Propagate_MS", "Infer_SO", "Infer_MO")


@dataclass
class RGMPReference:
    """The authors' RGMP, loaded from ``repo``: ``model`` plus ``run.py``'s inference functions."""

    repo: Path
    commit: str | None
    align_corners: bool | None
    device: torch.device
    model: nn.DataParallel = field(repr=False)
    model_module: types.ModuleType
    utils_module: types.ModuleType
    run_namespace: dict[str, Any] = field(repr=False)

    def infer_mo(self, all_F: torch.Tensor, all_M: torch.Tensor, num_frames: int,
                 num_objects: int, scales: Sequence[float] = (0.5, 0.75, 1.0)) -> torch.Tensor:
        """Their ``Infer_MO`` (no grad, warnings silenced).

        all_F: float (1, 3, T, H', W') in [0, 1], already padded; all_M: one-hot
        (1, num_objects, T, H', W') (only frame 0 is read).  Returns (1, num_objects+1, T, H', W')
        probabilities, channel 0 = background.  Tensors must be on CPU (their resizing is cv2).
        """
        fn = self.run_namespace["Infer_MO"]
        with torch.no_grad(), quiet():
            return fn(all_F, all_M, int(num_frames), int(num_objects), scales=list(scales))

    def pad(self, frames: np.ndarray, labels: np.ndarray, num_objects: int | None = None,
            *, multi_object: bool = True
            ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], tuple[int, int]]]:
        """:func:`pad_like_authors` using this checkout's already loaded ``utils.py``."""
        return _pad_with_their_davis(self.utils_module, frames, labels, num_objects, multi_object)


def load_rgmp(repo: PathLike | None = None, align_corners: bool | None = None,
              *, seed: int | None = None) -> RGMPReference:
    """Build the authors' RGMP as ``run.py`` does: ``nn.DataParallel(RGMP())``, eval mode.

    ``align_corners``: None keeps ``F.upsample``'s modern meaning (False); True/False forces it
    inside their model module only (True reproduces their PyTorch 0.3.1).  ``seed`` makes the
    random initialisation reproducible without disturbing the global RNG.  Weights are random;
    load a checkpoint with ``ref.model.load_state_dict(torch.load(path))`` as ``run.py`` does.
    """
    path = _resolve_repo(repo, RGMP_REPO_ENV, ("model.py", "run.py", "utils.py"))
    model_module, utils_module = _load_model_and_utils(path, "rgmp", align_corners)
    device = _device()
    with _seeded(seed), quiet():
        model = nn.DataParallel(model_module.RGMP())
    model.to(device).eval()
    namespace: dict[str, Any] = {
        "model": model,
        "torch": torch,
        "F": model_module.F,
        "Variable": torch.autograd.Variable,
        "ToCudaVariable": utils_module.ToCudaVariable,
        "upsample": utils_module.upsample,
        "downsample": utils_module.downsample,
    }
    _exec_functions(path / "run.py", _RGMP_RUN_FUNCTIONS, namespace)
    return RGMPReference(repo=path, commit=_git_commit(path), align_corners=align_corners,
                         device=device, model=model, model_module=model_module,
                         utils_module=utils_module, run_namespace=namespace)


# ----------------------------------------------------------------------------------------------
# FAN


@dataclass
class FANReference:
    """The authors' FAN, loaded from ``repo``: ``model`` plus ``val.py``'s ``Propagate_MS``."""

    repo: Path
    commit: str | None
    align_corners: bool | None
    device: torch.device
    model: nn.Module = field(repr=False)
    model_module: types.ModuleType
    utils_module: types.ModuleType
    val_namespace: dict[str, Any] = field(repr=False)

    @property
    def propagate(self) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
        """Their ``Propagate_MS(ms, F2, P2) -> (fg probability (1, H', W'), r5 of this frame)``."""
        return self.val_namespace["Propagate_MS"]

    def infer_sequence(self, all_F: torch.Tensor, all_M0: torch.Tensor,
                       num_frames: int) -> torch.Tensor:
        """Our minimal driver reproducing ``val.py``'s per-sequence loop (one object).

        all_F: float (1, 3, T, H', W') padded, in [0, 1]; all_M0: frame-0 foreground mask,
        (1, H', W'), (1, 1, H', W') or (1, 1, T, H', W') (frame 0 taken).  Returns all_E
        (1, 1, T, H', W'): frame 0 = the mask, later frames = foreground probabilities.
        As released, the reference feature is replaced after every frame by the r5 that
        ``Propagate_MS`` returns (the current frame encoded with the previous mask).
        """
        m0 = all_M0[:, :, 0] if all_M0.dim() == 5 else all_M0
        m0 = m0.reshape(1, *all_F.shape[-2:]).float()
        num_frames = int(num_frames)
        to_var = self.val_namespace["ToCudaVariable"]
        with torch.no_grad(), quiet():
            all_E = torch.zeros(1, 1, num_frames, *all_F.shape[-2:])
            all_E[:, 0, 0] = m0
            f1, p1 = to_var([all_F[:, :, 0], all_E[:, 0, 0]])
            ms = self.model.Encoder(f1, p1)[0]
            for f in range(num_frames - 1):
                output, ms = self.propagate(ms, all_F[:, :, f + 1], all_E[:, 0, f])
                all_E[:, 0, f + 1] = output.detach()
        return all_E

    def pad(self, frames: np.ndarray, labels: np.ndarray
            ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], tuple[int, int]]]:
        """Pad with FAN's own ``DAVIS`` loader in its single-object mode (as FAN evaluates)."""
        return _pad_with_their_davis(self.utils_module, frames, labels, 1, multi_object=False)


def load_fan(repo: PathLike | None = None, align_corners: bool | None = None,
             *, seed: int | None = None) -> FANReference:
    """Build the authors' FAN (class ``RGMP`` in FAN's ``model.py``), eval mode, unwrapped.

    ``val.py`` wraps in DataParallel only with more than one GPU and then calls
    ``model.Encoder`` (which would fail wrapped), so the plain module is what it runs.
    ``val.py`` does ``from train import *`` (tensorboardX, IPython, ...); it is not imported:
    ``Propagate_MS`` is extracted and given ``model``, ``F`` and their ``ToCudaVariable``.
    ``align_corners`` and ``seed`` as in :func:`load_rgmp`.
    """
    path = _resolve_repo(repo, FAN_REPO_ENV, ("model.py", "val.py", "utils.py"))
    model_module, utils_module = _load_model_and_utils(path, "fan", align_corners)
    device = _device()
    with _seeded(seed), quiet():
        model = model_module.RGMP()
    model.to(device).eval()
    namespace: dict[str, Any] = {
        "model": model,
        "torch": torch,
        "F": model_module.F,
        "ToCudaVariable": utils_module.ToCudaVariable,
    }
    _exec_functions(path / "val.py", ("Propagate_MS",), namespace)
    return FANReference(repo=path, commit=_git_commit(path), align_corners=align_corners,
                        device=device, model=model, model_module=model_module,
                        utils_module=utils_module, val_namespace=namespace)
