"""Self-check for the RANet reference harness: the authors' RANet builds and runs on CPU.

Checks: state-dict keys/shapes/dtypes equal the spec list (same order) and the parameter count;
the same seed gives the same weights for both net types; their ``msk2bbox`` on known masks
(legacy integer division, the float32 truncation of the width, what modern division does);
their template + eval forward on a random 480x864 input in both modes (multi with 2 objects);
and our ``infer_sequence`` driver over their ``process_SVOS_batch`` on a 3-frame random sequence
in both modes (frame 1 also recomputed step by step).  A ResNet-101 forward at 480x864 takes
several seconds on a small CPU; the whole check about two minutes on two cores.

    python tools/parity/check_ranet.py --ranet-repo /work/refs/RANet
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
from check_reference import (
    Checker,
    _default_keys_dir,
    _describe,
    _spec_rows,
    _state_dict_rows,
    verdict,
)

EXPECTED_PARAMS = 64_521_236
KEY_FILE = "RANet_state_dict_keys.txt"
H, W = reference.RANET_INPUT_HW


def _mask(*boxes: tuple[int, int, int, int]) -> torch.Tensor:
    """bool (1, 480, 864) with the given inclusive (r0, r1, c0, c1) rectangles set."""
    m = torch.zeros(1, H, W, dtype=torch.bool)
    for r0, r1, c0, c1 in boxes:
        m[0, r0 : r1 + 1, c0 : c1 + 1] = True
    return m


def check_model(check: Checker, ref: reference.RANetReference, keys_dir: Path) -> None:
    spec = _spec_rows(keys_dir / KEY_FILE)
    ours = _state_dict_rows(ref.model)
    first_diff = next((i for i, (a, b) in enumerate(zip(spec, ours)) if a != b), None)
    detail = (
        ""
        if first_diff is None
        else f"; first difference at #{first_diff}: "
        f"spec {spec[first_diff]} vs model {ours[first_diff]}"
    )
    check(
        spec == ours,
        f"state_dict == {KEY_FILE} ({len(ours)} vs {len(spec)} entries, same "
        f"order, shapes, dtypes){detail}",
    )
    n = sum(p.numel() for p in ref.model.parameters())
    check(n == EXPECTED_PARAMS, f"parameters {n:,} (expected {EXPECTED_PARAMS:,})")
    check(not ref.model.training and not ref.model.fp16, "eval mode, their fp16 flag off (fp32)")
    dtypes = {p.dtype for p in ref.model.parameters()}
    check(dtypes == {torch.float32}, f"parameter dtypes {sorted(map(str, dtypes))}")


def check_boxes(check: Checker, ref: reference.RANetReference) -> None:
    print("  msk2bbox (their function; boxes are (top, left, bottom, right), end-exclusive)")
    cases = [
        # rows 100..139, cols 200..299: centre (119, 249); t = max(29.25, 0.5556 * 74.25) = 41.25
        ("object 40x100", _mask((100, 139, 200, 299)), (78, 175, 160, 323)),
        # rows 100..140, cols 400..410: t = 30; 30 / (480/864) in float32 = 53.99999 -> 53, not 54
        ("float32 width truncation", _mask((100, 140, 400, 410)), (90, 352, 150, 458)),
        # rows 0..59, cols 800..863: centre (29, 831), t = 44.25 -> 44 rows, 79 columns
        ("clamped at the frame border", _mask((0, 59, 800, 863)), (0, 752, 73, 864)),
        # one box around both: centre (180, 330), t = 233.33 -> 233 rows, 420 columns
        ("union of two objects", _mask((50, 60, 50, 60), (300, 310, 600, 610)), (0, 0, 413, 750)),
        ("under 32 px -> full frame", _mask((200, 205, 400, 405)), (0, 0, 480, 864)),
        ("empty -> full frame", _mask(), (0, 0, 480, 864)),
    ]
    for name, mask, expected in cases:
        box = ref.msk2bbox(mask, k=1.5)
        got = tuple(int(v) for v in box)
        check(
            got == expected and not box.is_floating_point(),
            f"{name}: {got} {box.dtype} (expected {expected})",
        )
    modern = ref.msk2bbox(cases[0][1], k=1.5, legacy_division=False)
    print(f"  modern integer '/': {modern.tolist()} {modern.dtype}")
    try:
        ref.bbox_crop(torch.zeros(1, H, W), modern)
        crashed = False
    except TypeError as err:
        crashed = True
        print(f"  their bbox_crop with that box: TypeError: {err}")
    check(
        modern.is_floating_point() and crashed,
        "without legacy division the box is float and their bbox_crop raises TypeError",
    )


def _toy_sequence(t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random frames; frame-0 labels with ids 1 and 3 (to show their id compaction)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(t, H, W, 3), dtype=np.uint8)
    labels = np.zeros((H, W), np.uint8)
    labels[120:220, 200:330] = 1
    labels[260:360, 480:640] = 3
    return frames, labels


def check_forward(check: Checker, ref: reference.RANetReference) -> None:
    torch.manual_seed(1)
    x1 = torch.randn(1, 3, H, W)
    x2 = torch.randn(1, 3, H, W)
    t0 = time.perf_counter()
    ker = ref.template(x2)
    print(f"  template: {_describe(ker)} ({time.perf_counter() - t0:.1f}s)")
    check(
        tuple(ker.shape) == (1, 512, 15, 27) and ker.dtype == torch.float32,
        "template kernels (1, 512, 15, 27) float32",
    )
    msk2 = torch.ones(1, 1, H, W)
    msk2[..., 120:220, 200:330] = 2
    msk_p = msk2.clone()
    if not ref.single_object:
        msk2[..., 260:360, 480:640] = 3
        msk_p[..., 250:350, 470:630] = 3
    k = 1 if ref.single_object else 2
    t0 = time.perf_counter()
    out = ref.forward(x1, ker, msk2, msk_p)
    print(f"  forward: {_describe(out)} ({time.perf_counter() - t0:.1f}s)")
    check(
        tuple(out.shape) == (1, k, H, W) and out.dtype == torch.float32,
        f"forward output (1, {k}, 480, 864) float32",
    )
    check(bool(((out >= 0) & (out <= 1)).all()), "probabilities in [0, 1]")


def check_sequence(check: Checker, ref: reference.RANetReference) -> None:
    frames, labels = _toy_sequence(3, seed=2)
    t0 = time.perf_counter()
    seq = ref.infer_sequence(frames, labels, ref.net_type)
    print(
        f"  infer_sequence, 3 frames ({time.perf_counter() - t0:.1f}s): probs {seq.probs.shape} "
        f"{seq.probs.dtype} [{seq.probs.min():.4f}, {seq.probs.max():.4f}], labels "
        f"{seq.labels.shape} {seq.labels.dtype} values {np.unique(seq.labels).tolist()}, "
        f"label_ids {seq.label_ids}"
    )
    for t, box in enumerate(seq.boxes):
        counts = {int(v): int(c) for v, c in zip(*np.unique(seq.labels[t], return_counts=True))}
        print(
            f"    frame {t}: crop box {tuple(box.tolist())}, label pixel counts {counts}, "
            f"prob mean {seq.probs[t].mean():.4f}"
        )
    k = 1 if ref.single_object else 2
    check(
        seq.probs.shape == (3, k, H, W) and seq.probs.dtype == np.float32,
        f"probs (T, {k}, 480, 864) float32",
    )
    check(
        seq.labels.shape == (3, H, W) and seq.labels.dtype == np.uint8, "labels (T, 480, 864) uint8"
    )
    check(seq.label_ids == (0, 1, 3), "label ids in their set order, compacted: 0->1, 1->2, 3->3")
    given = np.where(labels == 0, 1, np.where(labels == 1, 2, 3))
    if ref.single_object:
        given = np.minimum(given, 2)
    check(np.array_equal(seq.labels[0], given), "frame 0 label map = the given labels (bg 1)")
    check(bool(((seq.probs >= 0) & (seq.probs <= 1)).all()), "probabilities in [0, 1]")
    check(tuple(seq.boxes[0]) == tuple(seq.boxes[1]), "frames 0 and 1 use the template box")
    outside_zero = True
    rule_ok = True
    for t in range(1, 3):
        top, left, bottom, right = seq.boxes[t].tolist()
        inside = np.zeros((H, W), bool)
        inside[top:bottom, left:right] = True
        outside_zero &= bool((seq.probs[t][:, ~inside] == 0).all())
        p = seq.probs[t]
        if ref.single_object:
            expected = 1 + (p[0] > 0.5)
        else:  # their rule: object i where p_i > 0.5 and p_i is the largest; later objects win ties
            expected = np.ones((H, W), np.int64)
            for i in range(k):
                expected[(p[i] > 0.5) & (p[i] >= p.max(0))] = i + 2
        rule_ok &= bool(np.array_equal(seq.labels[t], expected))
    check(outside_zero, "uncropped probabilities are 0 outside the crop box")
    check(rule_ok, "labels follow the threshold (and largest-object) rule on the probabilities")

    # Frame 1 once more, step by step with the harness's pieces: checks the driver's wiring.
    t0 = time.perf_counter()
    x = ref.preprocess(frames[:2])
    init, _ = ref.label_map(labels)
    box = ref.msk2bbox(init[0].ge(1.6), k=1.5)
    key = ref.template(ref.resize(ref.bbox_crop(x[0], box).unsqueeze(0)))
    key_mask = ref.resize(ref.bbox_crop(init[0], box).unsqueeze(0), mode="nearest")
    crop = ref.bbox_crop(x[1], box).unsqueeze(0)
    out = ref.forward(ref.resize(crop), key, key_mask, key_mask)
    p1 = ref.bbox_uncrop(out, box, crop.shape)
    check(
        torch.equal(p1[0], torch.from_numpy(seq.probs[1])),
        f"frame 1 recomputed by hand equals the driver's ({time.perf_counter() - t0:.1f}s)",
    )


def run(check: Checker, repo: Path, keys_dir: Path) -> None:
    for net_type in reference.RANET_NET_TYPES:
        print(f"RANet {net_type} ({repo})")
        t0 = time.perf_counter()
        ref = reference.load_ranet(repo, net_type, seed=0)
        print(
            f"  commit {ref.commit}, device {ref.device}, built in {time.perf_counter() - t0:.1f}s"
        )
        for patch in ref.patches:
            print(f"  supplied: {patch}")
        check(
            ref.model.forward.__name__
            == (
                "RANet_Single_forward_eval" if ref.single_object else "RANet_Multiple_forward_eval"
            ),
            f"forward is {ref.model.forward.__name__}",
        )
        check_model(check, ref, keys_dir)
        if net_type == "single_object":
            other = reference.load_ranet(repo, "multi_object", seed=0)
            a, b = ref.model.state_dict(), other.model.state_dict()
            check(
                all(torch.equal(a[k], b[k]) for k in a),
                "seed=0 gives the same weights for both types",
            )
            del other
            check_boxes(check, ref)
        check_forward(check, ref)
        check_sequence(check, ref)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranet-repo", type=Path, default=os.environ.get(reference.RANET_REPO_ENV))
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=_default_keys_dir(),
        help="folder with the spec RANet_state_dict_keys.txt",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if args.ranet_repo is None:
        parser.error(f"give --ranet-repo or set ${reference.RANET_REPO_ENV}")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}; torchvision stand-in: "
        f"{reference.standin_torchvision.__version__}"
    )
    check, t0 = Checker(), time.perf_counter()
    run(check, args.ranet_repo, args.keys_dir)
    return verdict(check, t0)


if __name__ == "__main__":
    sys.exit(main())
