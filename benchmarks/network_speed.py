#!/usr/bin/env python
"""RGMP / FAN / RANet / COSNet inference speed at 480p: vosbench's runner against the authors' own
inference code.

Workload: synthetic 854x480 sequences (``--frames`` frames each; one with a single object and
one with several), the same frames and the same random weights for both sides (the authors'
model is built with a seed, written as their release was and converted with
``vosbench convert``). Speed does not depend on the weight values; accuracy is not measured
here.

* vosbench: ``vosbench.runner.run`` (model region: padding, scales, network, aggregation,
  crop, on the device), headline FPS = frames / (init + propagation time), after an untimed
  warm-up of ``--warmup`` frames; frames are decoded inline (``io_workers=0``), so no decoding
  thread competes with the model for the cores, as the authors' frames sit in memory.
* authors: RGMP's ``Infer_MO`` (run.py), FAN's ``Propagate_MS`` loop (val.py), RANet's
  ``process_SVOS_batch`` at batch 1 in fp32, or fp16 with their ``--fp16`` set-up (after
  their template step), or COSNet's per-frame loop of ``test_coattention_conf.py`` with their
  test loader (reading the frames from files, as their script does; 2 encoder passes per
  pair), executed from their
  checkout with a torchvision stand-in (see tools/parity), on frames already padded /
  letterboxed, timed as their demo does (frames / elapsed, frame 0 included), after one
  warm-up call. Run under ``torch.no_grad()``, which is what their ``volatile=True`` meant
  in PyTorch 0.3 (today it is ignored and their code would also record gradients).

Each case is timed ``--repeats`` times, alternating sides; the table gives medians.

Usage::

    python benchmarks/network_speed.py --methods rgmp,fan --rgmp-repo /path/RGMP \\
        --fan-repo /path/FANforVOS --out results/rgmp_fan_speed.md
    python benchmarks/network_speed.py --methods ranet --ranet-repo /path/RANet \\
        --out results/ranet_speed.md
    python benchmarks/network_speed.py --methods cosnet --cosnet-repo /path/COSNet \\
        --out results/cosnet_speed.md

COSNet cases: 5 references (the paper's protocol) and 1, vosbench's default (each frame encoded
once, x1 alone) and the released computation (``feature_cache=0``: both frames of every pair
encoded), and with the dense CRF inside the timed step (``-c crf=true``). Their loop needs at
least as many frames as references.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "parity"))

from vosbench.datasets import load_dataset  # noqa: E402
from vosbench.runner import RunSettings, run  # noqa: E402
from vosbench.runner.environment import cpu_model  # noqa: E402

CASES = [
    # name, method, vosbench config, precision, objects, authors' scales (None: no authors' run),
    # frames override (several objects cost (M + 1) x scales passes a frame)
    ("rgmp 3 scales", "rgmp", {}, "fp32", 1, (0.5, 0.75, 1.0), None),
    ("rgmp 1 scale", "rgmp", {"scales": "1.0"}, "fp32", 1, (1.0,), None),
    ("rgmp 3 scales", "rgmp", {}, "fp32", 3, (0.5, 0.75, 1.0), 3),
    ("rgmp 3 scales, compiled", "rgmp", {"compile": "true"}, "fp32", 1, (0.5, 0.75, 1.0), None),
    (
        "rgmp 1 scale, compiled",
        "rgmp",
        {"scales": "1.0", "compile": "true"},
        "fp32",
        1,
        (1.0,),
        None,
    ),
    (
        "rgmp 1 scale, NCHW, BN not folded",
        "rgmp",
        {"scales": "1.0", "channels_last": "false", "fold_bn": "false"},
        "fp32",
        1,
        None,
        None,
    ),
    ("rgmp 1 scale", "rgmp", {"scales": "1.0"}, "amp-bf16", 1, None, None),
    ("fan 1 scale, reference=previous", "fan", {"reference": "previous"}, "fp32", 1, (1.0,), None),
    ("ranet crop-and-track", "ranet", {}, "fp32", 1, "single_object", None),
    ("ranet crop-and-track", "ranet", {}, "fp32", 3, "multi_object", 3),
    ("ranet no-crop", "ranet", {"crop": "false"}, "fp32", 1, None, None),
    (
        "ranet crop-and-track, NHWC",
        "ranet",
        {"channels_last": "true"},
        "fp32",
        1,
        "single_object",
        None,
    ),
    ("ranet crop-and-track", "ranet", {}, "fp16", 1, "single_object/fp16", None),
    # COSNet (unsupervised: no objects handed in); the authors' slot holds their number of
    # references
    ("cosnet 5 references", "cosnet", {}, "fp32", 0, 5, None),
    ("cosnet 1 reference", "cosnet", {"references": "1"}, "fp32", 0, 1, None),
    (
        "cosnet 5 references, released computation (no feature cache)",
        "cosnet",
        {"feature_cache": "0"},
        "fp32",
        0,
        None,
        None,
    ),
    ("cosnet 5 references + dense CRF", "cosnet", {"crf": "true"}, "fp32", 0, None, None),
]


def clip(objects: int, frames: int):
    """A synthetic 854x480 sequence with exactly ``objects`` objects in frame 0 (0: the unsupervised
    task)."""
    if objects == 0:
        data = load_dataset(
            "synthetic", None, "val", preset="val", num_frames=frames, task="unsupervised"
        )
        return data.select(data.names[:1]), data.sequences[0]
    data = load_dataset("synthetic", None, "val", preset="val", num_frames=frames)
    for sequence in data.sequences:
        if len(sequence.prompts()[sequence.frames[0]]) == objects:
            return data.select([sequence.name]), sequence
    raise SystemExit(f"no synthetic sequence with {objects} object(s)")


def time_ours(
    method: str, config: dict[str, str], precision: str, weights: Path, data, warmup: int
):
    """(headline FPS, warm-up seconds incl. any compilation) of one fresh runner invocation."""
    with tempfile.TemporaryDirectory() as out:
        result = run(
            method,
            data,
            config=config,
            output=out,
            settings=RunSettings(
                weights=weights,
                precision=precision,
                warmup_frames=warmup,
                io_workers=0,
                evaluate=False,
            ),
        )  # no decoding thread beside the model
    return float(result.summary["fps"]), float(result.summary["warmup_s"])


def their_inputs(ref, sequence, objects: int, references: int = 0):
    frames = np.stack([sequence.read_frame(s) for s in sequence.frames])
    if ref.__class__.__name__ == "COSNetReference":  # frames and one seeded draw per frame
        from vosbench_methods.cosnet.method import draw_references

        rng = random.Random(0)
        return (
            frames,
            [draw_references("random", references, len(frames), rng) for _ in frames],
            None,
        )
    labels = sequence.read_annotation(sequence.frames[0]).astype(np.uint8)
    if ref.__class__.__name__ == "RANetReference":  # letterboxed 854 → 864 as their loader does
        return (
            np.pad(frames, ((0, 0), (0, 0), (5, 5), (0, 0))),
            np.pad(labels, ((0, 0), (5, 5))),
            None,
        )
    if ref.__class__.__name__ == "FANReference":
        return ref.pad(frames, (labels > 0).astype(np.uint8)[None])
    return ref.pad(frames, labels[None], objects, multi_object=True)


def time_theirs(ref, all_F, all_M, objects: int, scales) -> float:
    if ref.__class__.__name__ == "COSNetReference":  # all_F: frames, all_M: the draws
        started = time.perf_counter()
        ref.test_loop(all_F, all_M)
        return len(all_F) / (time.perf_counter() - started)
    if ref.__class__.__name__ == "RANetReference":
        started = time.perf_counter()
        ref.infer_sequence(all_F, all_M, content_box=(0, 5, 480, 859))
        return len(all_F) / (time.perf_counter() - started)
    frames = all_F.shape[2]
    started = time.perf_counter()
    if hasattr(ref, "infer_mo"):
        ref.infer_mo(all_F, all_M, frames, objects, scales=scales)
    else:
        ref.infer_sequence(all_F, all_M[:, :, 0].float(), frames)
    return frames / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rgmp-repo", type=Path, help="checkout of seoungwugoh/RGMP (omit: vosbench only)"
    )
    parser.add_argument("--fan-repo", type=Path, help="checkout of djzgroup/FANforVOS")
    parser.add_argument("--ranet-repo", type=Path, help="checkout of Storife/RANet")
    parser.add_argument("--cosnet-repo", type=Path, help="checkout of carrierlxk/COSNet")
    parser.add_argument(
        "--methods", default="rgmp,fan,ranet", help="comma-separated methods to time"
    )
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/rgmp_fan_speed.md"))
    parser.add_argument("--cases", help="only cases whose 'name precision' contains this text")
    parser.add_argument(
        "--no-their-warmup",
        action="store_true",
        help="skip the authors' untimed warm-up call (for very slow cases such as CPU fp16)",
    )
    args = parser.parse_args(argv)

    import reference
    from compare import build_ours, export_release

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        repos = {
            "rgmp": args.rgmp_repo,
            "fan": args.fan_repo,
            "ranet": args.ranet_repo,
            "cosnet": args.cosnet_repo,
        }
        refs: dict[Any, Any] = {}
        weights: dict[str, Path] = {}
        for method in methods:
            repo = repos[method]
            if repo is not None and method == "ranet":  # one model per head, same seeded weights
                for key in ("single_object", "multi_object", "single_object/fp16"):
                    net_type, _, half = key.partition("/")
                    refs[method, key] = reference.load_ranet(
                        repo, net_type, seed=0, fp16=bool(half)
                    )
                model = refs[method, "single_object"].model
            elif repo is not None:
                loader = {
                    "rgmp": reference.load_rgmp,
                    "fan": reference.load_fan,
                    "cosnet": reference.load_cosnet,
                }
                refs[method] = loader[method](repo, seed=0)
                model = refs[method].model
            else:  # no checkout: our own network's random weights
                from vosbench.runner import get_method, make_config

                cls = get_method(method)
                model = cls.build_network(make_config(cls.Config, {}))
            release = work / f"{method}-release.pth"
            export_release(model, release, legacy=False, prefix=method != "ranet")
            weights[method] = build_ours(method, release, work)[2]
        for name, method, config, precision, objects, scales, frames in CASES:
            if method not in methods or (args.cases and args.cases not in f"{name} {precision}"):
                continue
            frames = min(frames or args.frames, args.frames)
            data, sequence = clip(objects, frames)
            ref = (
                None
                if scales is None
                else refs.get((method, scales) if method == "ranet" else method)
            )
            ours, theirs, warmups = [], [], []
            if method == "cosnet" and scales is not None and frames < scales:
                ref = None  # their loop draws without replacement: it needs frames >= references
            if ref is not None:
                all_F, all_M, _ = their_inputs(
                    ref, sequence, objects, scales if method == "cosnet" else 0
                )
                if (
                    args.no_their_warmup or method == "cosnet"
                ):  # COSNet: 2 encoder passes per reference a frame
                    pass
                elif method == "ranet":
                    time_theirs(ref, all_F[:2], all_M, objects, scales)  # warm-up
                else:
                    time_theirs(ref, all_F[:, :, :2], all_M[:, :, :2], objects, scales)  # warm-up
            for _ in range(args.repeats):
                fps, warmup_s = time_ours(
                    method, config, precision, weights[method], data, args.warmup
                )
                ours.append(fps)
                warmups.append(warmup_s)
                if ref is not None:
                    theirs.append(time_theirs(ref, all_F, all_M, objects, scales))
            row = {
                "case": name,
                "objects": objects,
                "precision": precision,
                "config": config,
                "frames": frames,
                "ours_fps": ours,
                "theirs_fps": theirs,
                "ours_warmup_s": warmups,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    write_report(rows, args)
    return 0


def write_report(rows: list[dict[str, Any]], args) -> None:
    def median(values):
        return statistics.median(values) if values else None

    lines = [
        f"# {', '.join(m.upper() for m in args.methods.split(','))} inference speed (CPU)",
        "",
        f"Machine: {cpu_model()}, {torch.get_num_threads()} torch threads, Python "
        f"{platform.python_version()}, torch {torch.__version__}; `python "
        f"benchmarks/network_speed.py --methods {args.methods}` (854x480 synthetic frames padded "
        "to 864x512 (RGMP, FAN), letterboxed to 864x480 (RANet) or warped to 473x473 (COSNet), "
        "frames per sequence as listed, incl. the annotated one; batch 1; median of "
        f"{args.repeats}).",
        "",
        "vosbench: frames / (init + propagation) in the runner's model region. Authors: their "
        "inference function, frames / elapsed as in their demo, under `torch.no_grad()`. Same "
        "frames, same weights. Warm-up: the untimed frames before timing, where `torch.compile` "
        "compiles (each repeat is a fresh runner invocation in the same process; inductor's cache "
        "makes later compilations shorter). This shared 2-core machine's speed drifts by up to "
        "30 % over minutes: compare the two sides within a row (they alternate), not rows with "
        "each other.",
        "",
        "| case | objects | frames | precision | vosbench FPS | authors' FPS | "
        "vosbench / authors | vosbench warm-up s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, theirs = median(row["ours_fps"]), median(row["theirs_fps"])
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        lines.append(
            f"| {row['case']} | {row['objects']} | {row['frames']} | {row['precision']} | "
            f"{ours:.3f} | {f'{theirs:.3f}' if theirs else '-'} | {ratio} | "
            f"{median(row['ours_warmup_s']):.0f} |"
        )
    lines += [
        "",
        "Raw figures (every repeat):",
        "",
        "```json",
        json.dumps(rows, indent=1),
        "```",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines[: len(rows) + 9]))


if __name__ == "__main__":
    sys.exit(main())
