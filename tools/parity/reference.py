"""Run the authors' original RGMP, FAN and RANet code (their checkouts) on CPU, for parity tests.

Why this exists: vosbench re-implements RGMP, FAN and RANet; to compare against the released code
we execute the authors' files as they are, from a checkout whose path is passed in (or taken from
``VOSBENCH_RGMP_REPO`` / ``VOSBENCH_FAN_REPO`` / ``VOSBENCH_RANET_REPO``).  Nothing of theirs is
copied here (RANet specifics, and what its code needs from modern torch, are in :func:`load_ranet`):

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
import functools
import importlib.util
import io
import itertools
import os
import subprocess
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    "COSNET_REPO_ENV",
    "FAN_REPO_ENV",
    "RANET_INPUT_HW",
    "RANET_NET_TYPES",
    "RANET_REPO_ENV",
    "RGMP_REPO_ENV",
    "FANReference",
    "RANetReference",
    "RANetSequence",
    "RGMPReference",
    "COSNetReference",
    "load_cosnet",
    "load_fan",
    "load_ranet",
    "load_rgmp",
    "pad_like_authors",
    "quiet",
]

RGMP_REPO_ENV = "VOSBENCH_RGMP_REPO"
FAN_REPO_ENV = "VOSBENCH_FAN_REPO"
RANET_REPO_ENV = "VOSBENCH_RANET_REPO"
COSNET_REPO_ENV = "VOSBENCH_COSNET_REPO"

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
        warnings.filterwarnings("ignore", message=r".*nn\.functional\.sigmoid is deprecated")
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

    def upsample(
        self,
        input: torch.Tensor,
        size: Any = None,
        scale_factor: Any = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
    ) -> torch.Tensor:
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
        raise FileNotFoundError(
            f"{path} is not the expected checkout: missing {', '.join(missing)}"
        )
    return path


def _git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def _builtins_with_imports(supplied: Mapping[str, types.ModuleType]) -> dict[str, Any]:
    """Builtins whose ``__import__`` answers ``from <name> import ...`` with ``supplied[name]``
    (and ``import package.module`` with the real package whose ``module`` is ``supplied[name]``).

    Lets one of their files import a sibling that was itself loaded privately, without putting
    anything in ``sys.modules`` or on ``sys.path``.  Other names of the same top-level packages
    are refused rather than looked up on ``sys.path`` (where a stray copy could be found).
    """
    real_import = builtins.__import__
    roots = {name.split(".")[0] for name in supplied}

    def __import__(
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> Any:
        if level == 0 and name.split(".")[0] in roots:
            root, _, child = name.partition(".")
            if name in supplied and not fromlist and child and "." not in child:
                # ``import package.module``: the real package with that one module replaced
                return _View(real_import(root, globals, locals, (), 0), **{child: supplied[name]})
            if name not in supplied or not fromlist:
                raise ImportError(
                    f"reference harness supplies only 'from X import ...' for "
                    f"{sorted(supplied)}, not {name!r}"
                )
            return supplied[name]
        return real_import(name, globals, locals, fromlist, level)

    return {**vars(builtins), "__import__": __import__}


def _import_file(
    path: Path, tag: str, supplied: Mapping[str, types.ModuleType] | None = None
) -> types.ModuleType:
    """Import one of their files under a private, unique module name (not put in sys.modules).

    ``supplied`` maps module names the file imports to already loaded private modules.
    """
    name = f"_vosbench_ref_{tag}_{next(_counter)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    if supplied:
        module.__dict__["__builtins__"] = _builtins_with_imports(supplied)
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


def _load_model_and_utils(
    repo: Path, tag: str, align_corners: bool | None
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


def _pad_with_their_davis(
    utils_module: types.ModuleType,
    frames: np.ndarray,
    labels: np.ndarray,
    num_objects: int | None,
    multi_object: bool,
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
        raise ValueError(
            f"labels must be uint8 (T, H, W) or (H, W) matching frames, got "
            f"{labels.dtype} {labels.shape}"
        )
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
        dataset = utils_module.DAVIS(
            str(root) + os.sep, imset="list.txt", multi_object=multi_object
        )
        all_F, all_M, info = dataset[0]
    if num_objects is not None and int(info["num_objects"]) != int(num_objects):
        raise ValueError(
            f"num_objects={num_objects} but their loader finds "
            f"{int(info['num_objects'])} (max label of frame 0)"
        )
    (lh, uh), (lw, uw) = info["pad"]
    return all_F, all_M, ((int(lh), int(uh)), (int(lw), int(uw)))


def pad_like_authors(
    frames: np.ndarray,
    labels: np.ndarray,
    num_objects: int | None = None,
    *,
    repo: PathLike | None = None,
    multi_object: bool = True,
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

    def infer_mo(
        self,
        all_F: torch.Tensor,
        all_M: torch.Tensor,
        num_frames: int,
        num_objects: int,
        scales: Sequence[float] = (0.5, 0.75, 1.0),
    ) -> torch.Tensor:
        """Their ``Infer_MO`` (no grad, warnings silenced).

        all_F: float (1, 3, T, H', W') in [0, 1], already padded; all_M: one-hot
        (1, num_objects, T, H', W') (only frame 0 is read).  Returns (1, num_objects+1, T, H', W')
        probabilities, channel 0 = background.  Tensors must be on CPU (their resizing is cv2).
        """
        fn = self.run_namespace["Infer_MO"]
        with torch.no_grad(), quiet():
            return fn(all_F, all_M, int(num_frames), int(num_objects), scales=list(scales))

    def pad(
        self,
        frames: np.ndarray,
        labels: np.ndarray,
        num_objects: int | None = None,
        *,
        multi_object: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], tuple[int, int]]]:
        """:func:`pad_like_authors` using this checkout's already loaded ``utils.py``."""
        return _pad_with_their_davis(self.utils_module, frames, labels, num_objects, multi_object)


def load_rgmp(
    repo: PathLike | None = None, align_corners: bool | None = None, *, seed: int | None = None
) -> RGMPReference:
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
    return RGMPReference(
        repo=path,
        commit=_git_commit(path),
        align_corners=align_corners,
        device=device,
        model=model,
        model_module=model_module,
        utils_module=utils_module,
        run_namespace=namespace,
    )


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

    def infer_sequence(
        self, all_F: torch.Tensor, all_M0: torch.Tensor, num_frames: int
    ) -> torch.Tensor:
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

    def pad(
        self, frames: np.ndarray, labels: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], tuple[int, int]]]:
        """Pad with FAN's own ``DAVIS`` loader in its single-object mode (as FAN evaluates)."""
        return _pad_with_their_davis(self.utils_module, frames, labels, 1, multi_object=False)


def load_fan(
    repo: PathLike | None = None, align_corners: bool | None = None, *, seed: int | None = None
) -> FANReference:
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
    return FANReference(
        repo=path,
        commit=_git_commit(path),
        align_corners=align_corners,
        device=device,
        model=model,
        model_module=model_module,
        utils_module=utils_module,
        val_namespace=namespace,
    )


# ----------------------------------------------------------------------------------------------
# RANet


RANET_INPUT_HW = (480, 864)
RANET_NET_TYPES = ("single_object", "multi_object")
_RANET_FILES = (
    "codes/RANet_model.py",
    "codes/RANet.py",
    "codes/RANet_lib/RANet_lib.py",
    "codes/RANet_lib/RANet_Model_imagenet.py",
    "codes/RANet_lib/RANet_resnet_ins.py",
)
# Their PAD_transform: ToTensor, then Normalize with these (torchvision 0.2, per-channel scalars).
_RANET_MEAN = (0.485, 0.456, 0.406)
_RANET_STD = (0.229, 0.224, 0.225)
_RANET_THRESHOLD = 0.5  # fitpredict17 uses 0.5 for every dataset mode


class _View:
    """A module seen with a few attributes replaced; put into *their* namespaces only."""

    def __init__(self, base: Any, **replaced: Any) -> None:
        self._base = base
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def __repr__(self) -> str:
        replaced = sorted(k for k in vars(self) if k != "_base")
        return f"<{getattr(self._base, '__name__', self._base)!s} with {replaced} replaced>"


class _CudaNoOpTensor(torch.Tensor):
    """A tensor their code created on a CPU run: ``.cuda()`` hands it back as a plain tensor.

    Their test code calls ``.cuda()`` unconditionally (``torch.zeros(4).cuda()`` in ``msk2bbox``,
    ``torch.zeros(...).cuda()`` in ``msks2P``, ``Variable(...).cuda()``); on a CPU build that
    raises.  Only tensors made by the factories of their namespace's ``torch`` are of this class,
    and ``.cuda()`` returns a plain tensor, so the class never reaches the model.
    """

    def cuda(self, *args: Any, **kwargs: Any) -> torch.Tensor:  # type: ignore[override]
        return self.as_subclass(torch.Tensor)


def _integral(x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return not (x.is_floating_point() or x.is_complex())
    return isinstance(x, int)


class _TruncDivTensor(torch.Tensor):
    """Integer tensor whose ``/`` truncates, as integer-tensor ``/`` did up to PyTorch 1.4.

    Used only for ``torch.nonzero``'s result inside their ``msk2bbox`` (the box centre
    ``(nzx[0] + nzx[-1]) / 2``); with modern true division the box becomes float and their
    ``bbox_crop`` raises ``TypeError`` (float tensors cannot be slice indices).
    """

    def __truediv__(self, other: Any) -> torch.Tensor:  # type: ignore[override]
        if _integral(self) and _integral(other):
            return torch.div(self, other, rounding_mode="trunc")
        return torch.Tensor.__truediv__(self, other)


def _returning(
    cls: type[torch.Tensor], fn: Callable[..., torch.Tensor]
) -> Callable[..., torch.Tensor]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> torch.Tensor:
        return fn(*args, **kwargs).as_subclass(cls)

    return wrapper


def _rebind(func: types.FunctionType, namespace: dict[str, Any]) -> types.FunctionType:
    """Their function (the same code object) resolving its globals in ``namespace``."""
    new = types.FunctionType(
        func.__code__, namespace, func.__name__, func.__defaults__, func.__closure__
    )
    new.__kwdefaults__ = func.__kwdefaults__
    new.__qualname__ = func.__qualname__
    new.__doc__ = func.__doc__
    return new


def _ranet_lib_namespace(
    lib: types.ModuleType, device: torch.device, legacy_division: bool
) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``RANet_lib.py``'s globals in which their test functions can run here.

    Their module object is left untouched; ``msk2bbox``, ``bbox_crop``, ``bbox_uncrop`` and
    ``process_SVOS_batch`` are re-bound (same code) to the copy, which differs only in:
    ``torch`` (on CPU: ``zeros``/``from_numpy``/``tensor`` give tensors whose ``.cuda()`` is a
    no-op; for ``msk2bbox`` with ``legacy_division``: ``nonzero`` gives :class:`_TruncDivTensor`)
    and ``Variable`` (on CPU: same data, ``.cuda()`` a no-op; ``volatile`` is moot under
    ``no_grad``).  ``msk2bbox``'s result is handed on as a plain tensor.
    """
    patches: list[str] = []
    factories: dict[str, Any] = {}
    namespace = dict(vars(lib))
    if device.type == "cpu":
        factories = {
            name: _returning(_CudaNoOpTensor, getattr(torch, name))
            for name in ("zeros", "from_numpy", "tensor")
        }
        namespace["Variable"] = _returning(_CudaNoOpTensor, lambda data, **_: data)
        patches.append(
            "RANet_lib: .cuda() is a no-op on CPU for tensors made by torch.zeros/"
            "from_numpy/tensor and Variable (their code calls .cuda() unconditionally)"
        )
    namespace["torch"] = _View(torch, **factories)
    box_factories = dict(factories)
    if legacy_division:
        box_factories["nonzero"] = _returning(_TruncDivTensor, torch.nonzero)
        patches.append(
            "RANet_lib.msk2bbox: integer-tensor '/' truncates (PyTorch <= 1.4 "
            "semantics; modern true division gives float boxes and bbox_crop fails)"
        )
    their_box = _rebind(lib.msk2bbox, dict(namespace, torch=_View(torch, **box_factories)))

    @functools.wraps(their_box)
    def msk2bbox(*args: Any, **kwargs: Any) -> torch.Tensor:
        return their_box(*args, **kwargs).as_subclass(torch.Tensor)

    namespace["msk2bbox"] = msk2bbox
    for name in ("bbox_crop", "bbox_uncrop", "process_SVOS_batch"):
        namespace[name] = _rebind(getattr(lib, name), namespace)
    return namespace, patches


@dataclass
class RANetSequence:
    """What :meth:`RANetReference.infer_sequence` returns (all in the 480x864 letterboxed frame).

    probs: float32 (T, K, 480, 864).  Frame 0 = the given masks (0/1); frame t >= 1 = their
    sigmoid maps after ``bbox_uncrop`` (0 outside the crop box).  Multi-object: channel k is
    label k+2; single-object: K = 1, the union of all objects.
    labels: uint8 (T, 480, 864) in their convention, as their ``Out_Mask`` holds it: 1 background,
    2..K+1 objects (single-object: 2 = object); frame 0 is the given map (0 outside
    ``content_box``, as their loader leaves letterbox padding), later frames have no 0.
    label_ids: the original id of label i+1 is ``label_ids[i]`` (their loader's Python-set order,
    ascending for small ids; label 1 is normally id 0).
    boxes: int64 (T, 4) ``(top, left, bottom, right)``, end-exclusive: the box frame t was cropped
    with (frames 0 and 1: the template box from frame 0's mask).
    """

    probs: np.ndarray
    labels: np.ndarray
    label_ids: tuple[int, ...]
    boxes: np.ndarray


@dataclass
class RANetReference:
    """The authors' RANet loaded from ``repo``: ``model`` plus their crop-and-track functions.

    ``patches`` lists every attribute supplied in their namespaces to run under this torch.
    """

    repo: Path
    commit: str | None
    net_type: str
    device: torch.device
    legacy_division: bool
    model: nn.Module = field(repr=False)
    model_module: types.ModuleType
    imagenet_module: types.ModuleType
    resnet_module: types.ModuleType
    lib_module: types.ModuleType
    lib_namespace: dict[str, Any] = field(repr=False)
    patches: tuple[str, ...]

    @property
    def single_object(self) -> bool:
        return self.net_type == "single_object"

    # -- their model -----------------------------------------------------------------------

    def template(self, frame: torch.Tensor) -> torch.Tensor:
        """Their forward with ``mode='first'``: template kernels (N, 512, 15, 27) from a
        normalised (N, 3, 480, 864) frame (already cropped and resized, as their loop does)."""
        with torch.no_grad(), quiet():
            return self.model(None, frame.to(self.device), None, None, mode="first")[0]

    def forward(
        self, x1: torch.Tensor, ker: torch.Tensor, msk2: torch.Tensor, msk_p: torch.Tensor
    ) -> torch.Tensor:
        """Their eval forward; returns probabilities (N, 1, 480, 864) single-object,
        (N, K, 480, 864) multi-object (K from ``msk2``'s largest label; all N must agree).

        x1: normalised current frame (N, 3, 480, 864); ker: :meth:`template` output; msk2: the
        template mask, msk_p: the previous mask, both float (N, 1, 480, 864) label maps (bg 1,
        objects 2..K+1, padding 0).  The multi-object head writes label 2 into ``msk2[i, 0, 0, 0]``
        in place when ``msk2[i]`` holds no object (their edge-case hack).
        """
        with torch.no_grad(), quiet():
            out, _ = self.model(x1, ker, msk2, msk_p)
        probs = out[0]
        if isinstance(probs, list):  # multi-object: one (1, K, H, W) tensor per sample
            if len({p.shape[1] for p in probs}) != 1:
                raise ValueError("samples have different object counts; call ref.model directly")
            probs = torch.cat(probs)
        return probs

    # -- their test-loop helpers (RANet_lib.py), runnable here ---------------------------------

    def msk2bbox(
        self, msk: torch.Tensor, k: float = 1.5, *, legacy_division: bool | None = None
    ) -> torch.Tensor:
        """Their ``msk2bbox``: int64 ``(top, left, bottom, right)`` of the k-times box of a bool
        (1, 480, 864) mask, aspect 480:864, clamped; the full frame when empty or under 32 px.

        ``legacy_division=False`` runs it with modern integer ``/`` (then the box comes back as
        float, which their ``bbox_crop`` rejects); None uses the load-time setting.
        """
        if legacy_division is None or legacy_division == self.legacy_division:
            fn = self.lib_namespace["msk2bbox"]
        else:
            fn = _ranet_lib_namespace(self.lib_module, self.device, legacy_division)[0]["msk2bbox"]
        return fn(msk, k=k)

    def bbox_crop(self, img: torch.Tensor, bbox: torch.Tensor) -> torch.Tensor:
        """Their ``bbox_crop``: ``img[:, top:bottom, left:right]`` of a 3-D (C, H, W) tensor."""
        return self.lib_namespace["bbox_crop"](img, bbox)

    def bbox_uncrop(
        self, img: torch.Tensor, bbox: torch.Tensor, crop_size: Sequence[int]
    ) -> torch.Tensor:
        """Their ``bbox_uncrop``: (N, C, 480, 864) -> bilinear (align_corners=True) to
        ``crop_size[2:]``, zero-padded back into 480x864.  ``crop_size`` is the 4-D size of the
        cropped frame, as their loop passes it."""
        with quiet():
            return self.lib_namespace["bbox_uncrop"](img, bbox, None, crop_size)

    def resize(
        self, x: torch.Tensor, size: Sequence[int] = RANET_INPUT_HW, mode: str = "bilinear"
    ) -> torch.Tensor:
        """Their two resize calls, as written: ``F.upsample(x, size, mode='bilinear')`` for frames
        (align_corners False in torch >= 0.4) and ``F.upsample(x, size)`` (nearest) for masks."""
        upsample = self.lib_module.F.upsample
        with quiet():
            if mode == "bilinear":
                return upsample(x, tuple(size), mode="bilinear")
            if mode == "nearest":
                return upsample(x, tuple(size))
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")

    # -- their data loader's effect on already letterboxed input (ours) -------------------------

    @staticmethod
    def preprocess(frames: np.ndarray) -> torch.Tensor:
        """uint8 (T, 480, 864, 3) letterboxed RGB -> float32 (T, 3, 480, 864) as their
        ``PAD_transform`` leaves it: ToTensor (/255), then per-channel ``sub_(mean).div_(std)``.
        (Their ``Pad_to_size_list`` resize and crop are the identity at 864x480.)"""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (*RANET_INPUT_HW, 3):
            raise ValueError(
                f"frames must be uint8 (T, 480, 864, 3), got {frames.dtype} {frames.shape}"
            )
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div(255)
        for c, (m, s) in enumerate(zip(_RANET_MEAN, _RANET_STD)):
            x[:, c].sub_(m).div_(s)
        return x

    @staticmethod
    def label_map(
        first_labels: np.ndarray, content_box: Sequence[int] | None = None
    ) -> tuple[torch.Tensor, tuple[int, ...]]:
        """uint8 (480, 864) ids -> ((1, 1, 480, 864) float32 label map, label_ids), as their
        ``DAVIS2017_loader`` builds it for a palette PNG: each distinct value, in Python-set
        order, becomes position + 1 (so id 0 -> 1, objects -> 2..K+1).  Their loader also leaves
        letterbox padding at 0; pass ``content_box=(top, left, bottom, right)`` of the real image
        to get that (it only changes frame 0's label map, not any network input that matters).
        """
        labels = np.asarray(first_labels)
        if labels.dtype != np.uint8 or labels.shape != RANET_INPUT_HW:
            raise ValueError(
                f"first_labels must be uint8 (480, 864), got {labels.dtype} {labels.shape}"
            )
        label_ids = tuple(int(v) for v in set(labels.reshape(-1)))  # their objs_ids order
        label_map = torch.zeros(RANET_INPUT_HW)
        for i, value in enumerate(label_ids):
            label_map[torch.from_numpy(labels == value)] = i + 1
        if content_box is not None:
            top, left, bottom, right = (int(v) for v in content_box)
            inside = torch.zeros(RANET_INPUT_HW, dtype=torch.bool)
            inside[top:bottom, left:right] = True
            label_map[~inside] = 0
        return label_map[None, None], label_ids

    # -- our driver --------------------------------------------------------------------------------

    def infer_sequence(
        self,
        frames: np.ndarray,
        first_labels: np.ndarray,
        net_type: str | None = None,
        *,
        content_box: Sequence[int] | None = None,
    ) -> RANetSequence:
        """Our minimal driver of their per-sequence test logic, batch size 1, fp32 (fp16 when
        loaded with ``fp16=True``).

        frames: uint8 (T >= 2, 480, 864, 3) already letterboxed; first_labels: uint8 (480, 864)
        ids of frame 0.  ``net_type`` must match the loaded model (their ``set_type`` does not
        switch back reliably), None = the loaded one.

        Ours (inline in their code, reimplemented minimally): the data loader's normalisation and
        label map (:meth:`preprocess`, :meth:`label_map`); ``test_SVOS_Video_batch``'s template
        step -- ``msk2bbox(mask >= 1.6, k=1.5)``, crop frame and mask with ``bbox_crop``, resize
        with their ``F.upsample`` calls (bilinear / nearest), ``model(..., mode='first')`` --
        and its ``Frames_batch`` bookkeeping for one video.  Theirs, run unchanged: the whole
        per-frame loop ``process_SVOS_batch`` (crop with the previous box, resize, predict,
        ``bbox_uncrop``, threshold 0.5 / threshold-and-largest, ``msks2P``, next box from the
        prediction, previous mask = prediction cropped and nearest-resized).  Probabilities and
        boxes are recorded by wrapping ``bbox_uncrop`` / ``msk2bbox`` in the namespace copy.
        """
        if net_type is not None and net_type != self.net_type:
            raise ValueError(f"loaded as {self.net_type!r}; load_ranet(net_type={net_type!r})")
        x = self.preprocess(frames).to(self.device)
        num_frames = x.shape[0]
        if num_frames < 2:
            raise ValueError("their loop needs at least 2 frames (frame 0 is only the template)")
        init_mask, label_ids = self.label_map(first_labels, content_box)
        init_mask = init_mask.to(self.device)
        if getattr(self.model, "fp16", False):  # their test_SVOS_Video_batch halves the batch
            x, init_mask = x.half(), init_mask.half()

        namespace = self.lib_namespace
        boxes: list[torch.Tensor] = []
        uncropped: list[torch.Tensor] = []

        def msk2bbox(*args: Any, **kwargs: Any) -> torch.Tensor:
            box = namespace["msk2bbox"](*args, **kwargs)
            boxes.append(box)
            return box

        def bbox_uncrop(*args: Any, **kwargs: Any) -> torch.Tensor:
            out = namespace["bbox_uncrop"](*args, **kwargs)
            uncropped.append(out)
            return out

        run_namespace = dict(namespace, msk2bbox=msk2bbox, bbox_uncrop=bbox_uncrop)
        process = _rebind(self.lib_module.process_SVOS_batch, run_namespace)
        bbox_crop = namespace["bbox_crop"]
        upsample = self.lib_module.F.upsample
        n = num_frames - 1
        with torch.no_grad(), quiet():
            # test_SVOS_Video_batch's template step for one video (batch[0][0], batch[1][0]).
            size = x.shape[2:]
            bbox = msk2bbox(init_mask[0].ge(1.6), k=1.5)
            key_frame = upsample(bbox_crop(x[0], bbox).unsqueeze(0), size, mode="bilinear")
            key_mask = upsample(bbox_crop(init_mask[0], bbox).unsqueeze(0), size)
            key_feature = self.model(None, key_frame, None, None, mode="first")[0]
            # Their Frames_batch for one video in slot 0 (batch size 1), then their loop.
            frames_batch = {
                "Frames": [[x[t : t + 1] for t in range(1, num_frames)]],
                "Key_features": [[key_feature] + [None] * (n - 1)],
                "Key_masks": [[key_mask] * n],
                "Init_Key_masks": [[init_mask] * n],
                "Box": [[bbox] + [None] * (n - 1)],
                "Flags": [[1] + [2] * (num_frames - 3) + [3] + [False]],
                "Sizes": [n, 0],
                "batchsize": 1,
            }
            out_mask = process(
                frames_batch, self.model, _RANET_THRESHOLD, self.single_object, False
            )[0]
        if len(out_mask) != num_frames or len(uncropped) != n or len(boxes) != num_frames:
            raise RuntimeError(
                f"unexpected loop trace: {len(out_mask)} masks, {len(uncropped)} "
                f"predictions, {len(boxes)} boxes for {num_frames} frames"
            )

        if self.single_object:
            first = init_mask[0].ge(1.6).float()
        else:
            first = torch.cat(
                [init_mask[0] == label for label in range(2, len(label_ids) + 1)]
            ).float()
        probs = torch.cat([first[None].cpu()] + [p.float().cpu() for p in uncropped])
        crop_boxes = [boxes[0], boxes[0]] + boxes[1:n]
        return RANetSequence(
            probs=probs.numpy(),
            labels=np.stack([np.asarray(m) for m in out_mask]).astype(np.uint8),
            label_ids=label_ids,
            boxes=torch.stack([b.reshape(4).long().cpu() for b in crop_boxes]).numpy(),
        )


def load_ranet(
    repo: PathLike | None = None,
    net_type: str = "single_object",
    *,
    seed: int | None = None,
    checkpoint: PathLike | None = None,
    legacy_division: bool = True,
    fp16: bool = False,
) -> RANetReference:
    """Build their ``RANet(pretrained=False, type=net_type)`` as ``RANet.py`` does; eval, fp32
    (``fp16=True``: their ``--fp16`` set-up, ``model.half()`` and ``model.fp16 = True``).

    Loading, without touching ``sys.modules``/``sys.path`` or their files:
    ``codes/RANet_lib/RANet_resnet_ins.py``, ``RANet_Model_imagenet.py`` (its ``import
    torchvision.models`` gets :mod:`standin_torchvision`; only ``models.__dict__`` is read) and
    ``codes/RANet_model.py`` are imported privately, each ``from RANet_lib.X import *`` /
    ``from RANet_resnet_ins import *`` answered with the privately loaded sibling.  The
    ``RANet_lib`` package ``__init__`` (``sys.path.append('./RANet_lib')``, the data loader with
    ``torchvision.transforms`` and ``cv2``) is not run; its effect on letterboxed input is
    reproduced by :meth:`RANetReference.preprocess` / :meth:`~RANetReference.label_map`.
    ``RANet.py`` (argparse at import) is not imported: it only builds the model, loads the
    checkpoint and sets fp16, all done here.

    ``net_type``: 'single_object' (DAVIS-2016 weights) or 'multi_object' (DAVIS-2017 weights).
    ``seed``: reproducible random init without disturbing the global RNG (the same seed gives the
    same weights for both types).  ``checkpoint``: a released ``.pth``, loaded strictly as their
    ``checkpoint_load`` does, but with ``map_location`` (theirs fails on CPU for CUDA-saved files).
    ``legacy_division``: run ``msk2bbox`` with PyTorch <= 1.4 integer division (what they ran;
    without it their loop fails).  The model goes to CUDA when available (their loop calls
    ``.cuda()``), else CPU.  Their ``Dtype`` uses ``torch._C._TensorBase``; if this torch lacks
    it, ``torch._C.TensorBase`` is supplied under that name in their model module only.
    """
    if net_type not in RANET_NET_TYPES:
        raise ValueError(f"net_type must be one of {RANET_NET_TYPES}, got {net_type!r}")
    path = _resolve_repo(repo, RANET_REPO_ENV, _RANET_FILES)
    standin_torchvision.install()
    codes = path / "codes"
    resnet_module = _import_file(codes / "RANet_lib" / "RANet_resnet_ins.py", "ranet")
    imagenet_module = _import_file(
        codes / "RANet_lib" / "RANet_Model_imagenet.py",
        "ranet",
        {"RANet_resnet_ins": resnet_module},
    )
    model_module = _import_file(
        codes / "RANet_model.py", "ranet", {"RANet_lib.RANet_Model_imagenet": imagenet_module}
    )
    lib_module = _import_file(codes / "RANet_lib" / "RANet_lib.py", "ranet")

    patches: list[str] = []
    if not hasattr(torch._C, "_TensorBase"):
        model_module.torch = _View(torch, _C=_View(torch._C, _TensorBase=torch._C.TensorBase))
        patches.append("RANet_model: torch._C._TensorBase := torch._C.TensorBase")
    device = _device()
    with _seeded(seed), quiet(), contextlib.redirect_stdout(io.StringIO()):  # it prints the mode
        model = model_module.RANet(pretrained=False, type=net_type)
    if checkpoint is not None:
        state = torch.load(Path(checkpoint), map_location="cpu")
        model.load_state_dict(state, strict=True)
    model.to(device).eval()
    if fp16:
        model = model.half()
        model.fp16 = True
    namespace, lib_patches = _ranet_lib_namespace(lib_module, device, legacy_division)
    return RANetReference(
        repo=path,
        commit=_git_commit(path),
        net_type=net_type,
        device=device,
        legacy_division=legacy_division,
        model=model,
        model_module=model_module,
        imagenet_module=imagenet_module,
        resnet_module=resnet_module,
        lib_module=lib_module,
        lib_namespace=namespace,
        patches=tuple(patches + lib_patches),
    )


# ----------------------------------------------------------------------------------------------
# COSNet


_COSNET_FILES = (
    "deeplab/siamese_model_conf.py",
    "deeplab/siamese_model_conf_try_single.py",
    "dataloaders/PairwiseImg_test.py",
    "test_coattention_conf.py",
)
COSNET_INPUT_SIZE = 473  # their test script's inputRes


def _scipy_misc_standin() -> types.ModuleType:
    """``scipy.misc`` as SciPy < 1.3 had it, reduced to what their test loader calls: ``imresize``.

    SciPy 1.2's ``imresize(arr, size)`` made a PIL image of the array (``toimage``: a uint8
    three-channel array goes in unchanged), called ``resize((size[1], size[0]), BILINEAR)`` and
    turned the result back into an array; this does the same with today's Pillow.  Only the
    uint8 three-channel case their test loader uses is accepted.
    """
    from PIL import Image

    def imresize(
        arr: np.ndarray, size: Any, interp: str = "bilinear", mode: Any = None
    ) -> np.ndarray:
        arr = np.asarray(arr)
        if (
            mode is not None
            or arr.dtype != np.uint8
            or arr.ndim != 3
            or arr.shape[2] != 3
            or not isinstance(size, tuple)
        ):
            raise NotImplementedError(
                "stand-in imresize: uint8 (H, W, 3) arrays and (h, w) sizes only"
            )
        resample = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[
            interp
        ]
        return np.asarray(Image.fromarray(arr).resize((size[1], size[0]), resample))

    module = types.ModuleType("scipy.misc")
    module.__doc__ = "vosbench stand-in for the removed scipy.misc (imresize only)"
    module.imresize = imresize  # type: ignore[attr-defined]
    return module


class _DeviceVariable:
    """Their ``Variable(x, volatile=True).cuda()``: the tensor on the harness device (CPU here)."""

    def __init__(self, tensor: torch.Tensor, volatile: bool = False) -> None:
        self.tensor = tensor

    def cuda(self) -> torch.Tensor:
        return self.tensor.to(_device())


@dataclass
class COSNetReference:
    """The authors' COSNet, loaded from ``repo``: the pair model (``siamese_model_conf``), the group
    model (``siamese_model_conf_try_single``, same weights), their test loader and test loop."""

    repo: Path
    commit: str | None
    device: torch.device
    model: nn.Module = field(repr=False)
    group_model: nn.Module = field(repr=False)
    model_module: types.ModuleType
    group_module: types.ModuleType
    loader_module: types.ModuleType

    def sync_group(self) -> None:
        """Give the group model the pair model's current weights (same keys)."""
        self.group_model.load_state_dict(self.model.state_dict())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Their encoder: (V, saliency probability) of a pre-processed (N, 3, H, W) batch."""
        with torch.no_grad(), quiet():
            return self.model.encoder(x.to(self.device))

    def forward(
        self, input1: torch.Tensor, input2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Their pair forward: (x1, x2, temp)."""
        with torch.no_grad(), quiet():
            return self.model(input1.to(self.device), input2.to(self.device))

    def group_forward(self, input1: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
        """Their group forward: x1 from (1, 3, H, W) and references (1, N, 3, H, W); N must be their
        hard-coded ``nframes`` (2)."""
        if references.shape[1] != self.group_model.nframes:
            raise ValueError(
                f"their group model reads exactly nframes={self.group_model.nframes} references"
            )
        with torch.no_grad(), quiet():
            return self.group_model(input1.to(self.device), references.to(self.device))[0]

    def test_loop(
        self,
        frames: np.ndarray,
        draws: Sequence[Sequence[int]],
        input_size: int = COSNET_INPUT_SIZE,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Their test protocol on one video: the averaged maps (T, 473, 473) and the float
        probability maps (T, H, W) at the frames' size.

        frames: RGB uint8 (T, H, W, 3); draws: the reference indices of each frame (ours, replacing
        their unseeded ``random.sample``).  Their ``PairwiseImg`` test loader (OpenCV read, the
        ``imresize`` stand-in, Caffe means) runs unchanged over a temporary DAVIS-2016 layout with
        the frames stored losslessly (PNG bytes under their ``%05d.jpg`` names, the video named
        ``blackswan`` because their script reads its output size there), and so does the
        per-frame ``for`` loop of their ``main()`` in ``test_coattention_conf.py`` (extracted with
        ``ast``: average of the ``sample_range`` x1 maps, ``cv2.resize`` to the frame size, 8-bit
        PNG).  Both are recorded at their ``cv2.resize`` call (its input and output), before the
        8-bit rounding.
        """
        from PIL import Image

        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(
                f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}"
            )
        counts = {len(d) for d in draws}
        if len(draws) != len(frames) or len(counts) != 1:
            raise ValueError("one draw per frame, all of the same length, is needed")
        sample_range = counts.pop()
        pending = iter([list(d) for d in draws])

        def sample(population: Sequence[int], k: int) -> list[int]:
            if list(population) != list(range(len(frames))) or k != sample_range:
                raise ValueError(f"unexpected draw: sample({population!r}, {k})")
            return next(pending)

        averaged: list[np.ndarray] = []
        recorded: list[np.ndarray] = []

        def resize(image: np.ndarray, size: Any, *args: Any, **kwargs: Any) -> np.ndarray:
            averaged.append(np.array(image, copy=True))
            out = cv2_module.resize(image, size, *args, **kwargs)
            recorded.append(np.array(out, copy=True))
            return out

        import cv2 as cv2_module

        with tempfile.TemporaryDirectory(prefix="vosbench_ref_cosnet_") as tmp:
            root = Path(tmp)
            images = root / "JPEGImages" / "480p" / "blackswan"
            labels = root / "Annotations" / "480p" / "blackswan"
            images.mkdir(parents=True)
            labels.mkdir(parents=True)
            (root / "val_seqs.txt").write_text("blackswan\n")
            for t, frame in enumerate(frames):
                Image.fromarray(frame, "RGB").save(images / f"{t:05d}.jpg", format="PNG")
                Image.fromarray(np.zeros(frame.shape[:2], np.uint8)).save(labels / f"{t:05d}.png")
            self.loader_module.random = _View(__import__("random"), sample=sample)
            dataset = self.loader_module.PairwiseImg(
                train=False,
                inputRes=(input_size, input_size),
                db_root_dir=str(root),
                transform=None,
                seq_name=None,
                sample_range=sample_range,
            )
            loader = torch.utils.data.DataLoader(
                dataset, batch_size=1, shuffle=False, num_workers=0
            )
            args = types.SimpleNamespace(
                sample_range=sample_range,
                data_dir=str(root),
                dataset="davis",
                seg_save_dir=str(root / "out"),
                save_segimage=True,
                seq_name=None,
            )
            namespace: dict[str, Any] = {
                "testloader": loader,
                "model": self.model,
                "args": args,
                "Variable": _DeviceVariable,
                "np": np,
                "cv2": _View(cv2_module, resize=resize),
                "Image": Image,
                "os": os,
                "my_index": 0,
                "old_temp": "",
                "__name__": "_vosbench_ref_cosnet_test",
            }
            loop = _test_loop_code(self.repo / "test_coattention_conf.py")
            with torch.no_grad(), quiet(), contextlib.redirect_stdout(io.StringIO()):
                exec(loop, namespace)  # noqa: S102 - running the authors' own loop is the point
        if len(recorded) != len(frames):
            raise RuntimeError(f"their loop resized {len(recorded)} maps for {len(frames)} frames")
        return np.stack(averaged), np.stack(recorded)


def _test_loop_code(path: Path) -> types.CodeType:
    """The ``for index, batch in enumerate(testloader)`` loop of their ``main()``, compiled
    alone."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    main = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"), None)
    if main is None:
        raise LookupError(f"{path}: no main()")
    loops = [
        n
        for n in main.body
        if isinstance(n, ast.For)
        and isinstance(n.iter, ast.Call)
        and getattr(n.iter.func, "id", None) == "enumerate"
        and any(getattr(a, "id", None) == "testloader" for a in n.iter.args)
    ]
    if len(loops) != 1:
        raise LookupError(
            f"{path}: expected one `for ... in enumerate(testloader)` loop in main(), found "
            f"{len(loops)}"
        )
    return compile(ast.Module(body=loops, type_ignores=[]), filename=str(path), mode="exec")


def load_cosnet(repo: PathLike | None = None, *, seed: int | None = None) -> COSNetReference:
    """Build their ``CoattentionNet(num_classes=2)`` (pair and group files) as their scripts do;
    eval, fp32.

    ``deeplab/siamese_model_conf.py`` and ``siamese_model_conf_try_single.py`` import only torch;
    ``dataloaders/PairwiseImg_test.py`` imports ``scipy.misc.imresize`` (removed in SciPy 1.3),
    answered by :func:`_scipy_misc_standin` for that file only.  The group model gets the pair
    model's weights.  ``seed``: reproducible random weights (their initialisation).
    """
    path = _resolve_repo(repo, COSNET_REPO_ENV, _COSNET_FILES)
    model_module = _import_file(path / "deeplab" / "siamese_model_conf.py", "cosnet")
    group_module = _import_file(path / "deeplab" / "siamese_model_conf_try_single.py", "cosnet")
    loader_module = _import_file(
        path / "dataloaders" / "PairwiseImg_test.py",
        "cosnet",
        {"scipy.misc": _scipy_misc_standin()},
    )
    device = _device()
    with _seeded(seed), quiet():
        model = model_module.CoattentionNet(num_classes=2)
        group_model = group_module.CoattentionNet(num_classes=2)
    model.to(device).eval()
    group_model.to(device).eval()
    reference = COSNetReference(
        repo=path,
        commit=_git_commit(path),
        device=device,
        model=model,
        group_model=group_model,
        model_module=model_module,
        group_module=group_module,
        loader_module=loader_module,
    )
    reference.sync_group()
    return reference
