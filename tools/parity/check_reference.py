"""Self-check for the reference harness: the authors' RGMP and FAN build and run on CPU.

Checks, for both checkouts: state-dict keys/shapes/dtypes equal the spec lists (same order),
parameter counts, a tiny random sequence through their inference code (padding done by their
own DAVIS loader), outputs are probabilities, and that ``align_corners=True`` (PyTorch 0.3.1
behaviour) changes the outputs relative to the modern default with identical weights.

    python tools/parity/check_reference.py --rgmp-repo /work/refs/RGMP \\
        --fan-repo /work/refs/FANforVOS
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference

EXPECTED_PARAMS = {"RGMP": 51_518_920, "FAN": 51_543_790}
KEY_FILES = {"RGMP": "RGMP_DataParallel_state_dict_keys.txt", "FAN": "FAN_state_dict_keys.txt"}
_DEFAULT_KEYS_DIRS = (
    Path(__file__).resolve().parents[2] / "shared" / "specs" / "methods" / "keys",
    Path("/work/shared/specs/methods/keys"),
)


class Checker:
    """Collects pass/fail lines so every check runs and prints even after a failure."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, what: str) -> bool:
        print(f"  [{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            self.failures.append(what)
        return ok


def _state_dict_rows(model: torch.nn.Module) -> list[tuple[str, str, str]]:
    return [(k, str(tuple(v.shape)), str(v.dtype)) for k, v in model.state_dict().items()]


def _spec_rows(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            key, shape, dtype = line.split("\t")
            rows.append((key, shape, dtype))
    return rows


def _check_keys(check: Checker, name: str, model: torch.nn.Module, keys_dir: Path) -> None:
    spec = _spec_rows(keys_dir / KEY_FILES[name])
    ours = _state_dict_rows(model)
    first_diff = next((i for i, (a, b) in enumerate(zip(spec, ours)) if a != b), None)
    detail = (
        ""
        if first_diff is None
        else f"; first difference at #{first_diff}: "
        f"spec {spec[first_diff]} vs model {ours[first_diff]}"
    )
    check(
        spec == ours,
        f"{name} state_dict == {KEY_FILES[name]} ({len(ours)} vs {len(spec)} "
        f"entries, same order, shapes, dtypes){detail}",
    )
    n = sum(p.numel() for p in model.parameters())
    check(
        n == EXPECTED_PARAMS[name], f"{name} parameters {n:,} (expected {EXPECTED_PARAMS[name]:,})"
    )


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _toy_sequence(t: int, h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random frames and two moving rectangles (labels 1 and 2)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)
    labels = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        labels[i, 10 + i : 30 + i, 8:40] = 1
        labels[i, 30:55, 50 + 2 * i : 85 + 2 * i] = 2
    return frames, labels


def _describe(x: torch.Tensor) -> str:
    return f"shape {tuple(x.shape)} {x.dtype}, min {x.min().item():.4f}, max {x.max().item():.4f}"


def run_rgmp(check: Checker, repo: Path, keys_dir: Path, scales: Sequence[float]) -> None:
    print(f"RGMP ({repo})")
    t0 = time.perf_counter()
    modern = reference.load_rgmp(repo, align_corners=None, seed=0)
    legacy = reference.load_rgmp(repo, align_corners=True, seed=0)
    print(
        f"  commit {modern.commit}, device {modern.device}, built in "
        f"{time.perf_counter() - t0:.1f}s"
    )
    check(
        isinstance(modern.model, torch.nn.DataParallel) and not modern.model.training,
        "model is nn.DataParallel(RGMP()) in eval mode",
    )
    _check_keys(check, "RGMP", modern.model, keys_dir)
    check(
        _same_weights(modern.model, legacy.model), "seed=0 gives identical weights for both loads"
    )

    frames, labels = _toy_sequence(3, 64, 96, seed=1)
    all_F, all_M, pad = modern.pad(frames, labels, num_objects=2)
    print(
        f"  their DAVIS padding: 64x96 -> all_F {tuple(all_F.shape)} {all_F.dtype}, "
        f"all_M {tuple(all_M.shape)} {all_M.dtype}, pad {pad}"
    )
    check(
        tuple(all_F.shape) == (1, 3, 3, 96, 128) and pad == ((16, 16), (16, 16)),
        "padding adds 32 px even to multiples of 32 (64x96 -> 96x128)",
    )
    (lh, uh), (lw, uw) = pad
    inner = all_F[0, :, :, lh:-uh, lw:-uw].permute(1, 2, 3, 0).numpy()
    check(
        np.array_equal(inner, (frames / 255.0).astype(np.float32)), "frames read back == uint8/255"
    )

    outs = {}
    for label, ref in (("align_corners=None", modern), ("align_corners=True", legacy)):
        t0 = time.perf_counter()
        out = ref.infer_mo(all_F, all_M, 3, 2, scales=scales)
        outs[label] = out
        print(
            f"  Infer_MO {label}, scales {tuple(scales)}: {_describe(out)} "
            f"({time.perf_counter() - t0:.1f}s)"
        )
        check(tuple(out.shape) == (1, 3, 3, 96, 128), "output (1, num_objects+1, T, H', W')")
        check(
            bool(((out >= 0) & (out <= 1)).all()) and bool(torch.isfinite(out).all()),
            "probabilities in [0, 1]",
        )
        check(torch.allclose(out.sum(1), torch.ones(()), atol=1e-5), "channels sum to 1")
        check(torch.equal(out[0, 1:, 0], all_M[0, :, 0].float()), "frame 0 equals the given masks")
    diff = (outs["align_corners=None"] - outs["align_corners=True"]).abs().max().item()
    mean = (outs["align_corners=None"] - outs["align_corners=True"]).abs().mean().item()
    print(f"  |None - True|: max {diff:.3e}, mean {mean:.3e}")
    check(diff > 0, "align_corners=True changes RGMP's output")


def run_fan(check: Checker, repo: Path, keys_dir: Path) -> None:
    print(f"FAN ({repo})")
    t0 = time.perf_counter()
    modern = reference.load_fan(repo, align_corners=None, seed=0)
    legacy = reference.load_fan(repo, align_corners=True, seed=0)
    print(
        f"  commit {modern.commit}, device {modern.device}, built in "
        f"{time.perf_counter() - t0:.1f}s"
    )
    check(
        not isinstance(modern.model, torch.nn.DataParallel) and not modern.model.training,
        "model is a plain RGMP() (FAN's model.py) in eval mode",
    )
    _check_keys(check, "FAN", modern.model, keys_dir)
    check(
        _same_weights(modern.model, legacy.model), "seed=0 gives identical weights for both loads"
    )

    frames, labels = _toy_sequence(3, 64, 96, seed=2)
    all_F, all_M, pad = modern.pad(frames, labels)
    print(
        f"  their DAVIS padding (single object): all_F {tuple(all_F.shape)}, "
        f"all_M {tuple(all_M.shape)}, pad {pad}"
    )
    outs = {}
    for label, ref in (("align_corners=None", modern), ("align_corners=True", legacy)):
        t0 = time.perf_counter()
        out = ref.infer_sequence(all_F, all_M[:, :, 0], 3)
        outs[label] = out
        print(f"  infer_sequence {label}: {_describe(out)} ({time.perf_counter() - t0:.1f}s)")
        check(tuple(out.shape) == (1, 1, 3, 96, 128), "output (1, 1, T, H', W')")
        check(
            bool(((out >= 0) & (out <= 1)).all()) and bool(torch.isfinite(out).all()),
            "probabilities in [0, 1]",
        )
        check(torch.equal(out[0, 0, 0], all_M[0, 0, 0].float()), "frame 0 equals the given mask")
    diff = (outs["align_corners=None"] - outs["align_corners=True"]).abs().max().item()
    mean = (outs["align_corners=None"] - outs["align_corners=True"]).abs().mean().item()
    print(f"  |None - True|: max {diff:.3e}, mean {mean:.3e}")
    check(diff > 0, "align_corners=True changes FAN's output")


def _default_keys_dir() -> Path:
    return next((d for d in _DEFAULT_KEYS_DIRS if d.is_dir()), _DEFAULT_KEYS_DIRS[-1])


def verdict(check: Checker, started: float) -> int:
    """Print PASS/FAIL with the failure count and time; the exit code."""
    print(
        f"{'PASS' if not check.failures else 'FAIL'}: {len(check.failures)} failure(s), "
        f"{time.perf_counter() - started:.1f}s"
    )
    return 1 if check.failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rgmp-repo", type=Path, default=os.environ.get(reference.RGMP_REPO_ENV))
    parser.add_argument("--fan-repo", type=Path, default=os.environ.get(reference.FAN_REPO_ENV))
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=_default_keys_dir(),
        help="folder with the spec *_state_dict_keys.txt files",
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 0.75, 1.0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if args.rgmp_repo is None or args.fan_repo is None:
        parser.error(
            f"give --rgmp-repo/--fan-repo or set ${reference.RGMP_REPO_ENV}/"
            f"${reference.FAN_REPO_ENV}"
        )
    if args.threads:
        torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}; torchvision stand-in: "
        f"{reference.standin_torchvision.__version__}"
    )
    check, t0 = Checker(), time.perf_counter()
    run_rgmp(check, args.rgmp_repo, args.keys_dir, args.scales)
    run_fan(check, args.fan_repo, args.keys_dir)
    return verdict(check, t0)


if __name__ == "__main__":
    sys.exit(main())
