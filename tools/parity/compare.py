"""Side-by-side check: vosbench's RGMP / FAN / RANet / COSNet against the authors' code, same
weights, same inputs.

Usage (the authors' repositories checked out anywhere; no torchvision needed)::

    python tools/parity/compare.py --method rgmp --repo /path/to/RGMP [--davis /path/to/DAVIS-2016]
    python tools/parity/compare.py --method fan  --repo /path/to/FANforVOS
    python tools/parity/compare.py --method cosnet --repo /path/to/COSNet \\
        [--davis /path/to/DAVIS-2016]

Both networks get the same random weights: the authors' model is built with a seed, its state
dict is written the way their release was (DataParallel ``module.`` keys, legacy pickle,
no BatchNorm counters for RGMP) and goes through ``vosbench convert`` into ours. The last head
is scaled so that the logits are of order one (random ResNet features otherwise saturate the
softmax, and a saturated probability compares equal whatever happens before it).

Compared, in fp32:

1. network: encoder maps r2 … r5 and decoder logits for a batch of masks, at a small size and
   at DAVIS's padded 512×864; ours plain and as run (folded BatchNorm, channels-last);
2. protocol: whole sequences through ``vosbench``'s method (``step`` per frame, as the runner
   calls it) against the authors' inference (``Infer_MO`` of RGMP's ``run.py`` with 3 scales;
   FAN's ``Propagate_MS`` loop of ``val.py`` with ``reference=previous``): a synthetic
   3-object sequence and, with ``--davis``, the first frames of a DAVIS-2016 sequence.

COSNet (:func:`compare_cosnet`): encoder features V, the saliency map, x1 (ours computing x1
alone), x2 and the saliency output of the released three-output forward, the group variant
(their hard-coded 2 references), the DeepLabv3 initialisation converted and loaded into our
encoder, and whole videos through their test loader and per-frame loop against our method with
our reference draws in place of their unseeded ones.

For each, the largest difference relative to the largest reference value is printed; the
check passes when every one is at most 1e-5. Under modern PyTorch their ``F.upsample`` no
longer aligns corners; RGMP is compared both as their code runs today (``align_corners=False``)
and as under PyTorch 0.3.1 (``True``, what the released weights need).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402  (the loader of the authors' code, beside this file)

from vosbench.runner.checkpoint import save_checkpoint  # noqa: E402
from vosbench.runner.protocol import SequenceMeta  # noqa: E402

TOLERANCE = 1e-5


def relative_difference(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """max |ours − theirs| / max |theirs| (an element-wise ratio explodes where values cross
    zero)."""
    ours, theirs = ours.detach().double(), theirs.detach().double()
    if ours.shape != theirs.shape:
        raise AssertionError(
            f"shapes differ: ours {tuple(ours.shape)} theirs {tuple(theirs.shape)}"
        )
    scale = theirs.abs().max().clamp_min(1e-12)
    return float((ours - theirs).abs().max() / scale)


def tame_head(model: torch.nn.Module) -> float:
    """Scale the final head so the logits' spread is about 2 on a probe input; returns the
    factor."""
    module = model.module if hasattr(model, "module") else model
    rgb = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(2))
    mask = torch.rand(1, 96, 128, generator=torch.Generator().manual_seed(3))
    with torch.no_grad(), reference.quiet():
        feats = module.Encoder(rgb, mask)
        spread = float(module.Decoder(feats[0], feats[0], *feats[1:])[0].std())
        factor = 2.0 / max(spread, 1e-6)
        module.Decoder.pred2.weight.mul_(factor)
        module.Decoder.pred2.bias.mul_(factor)
    return factor


def export_release(
    model: torch.nn.Module, path: Path, *, legacy: bool, prefix: bool = True
) -> None:
    """Write the authors' model state as their release was: ``module.`` keys (``prefix``),
    optionally a legacy pickle without BatchNorm counters."""
    state = model.state_dict()
    if prefix and not next(iter(state)).startswith("module."):
        state = {f"module.{k}": v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not (legacy and k.endswith("num_batches_tracked"))}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)


def build_ours(method: str, release: Path, workdir: Path, **config):
    """``vosbench convert`` of the release file, then the method built on the converted weights."""
    from vosbench.runner import get_method, make_config

    method_class = get_method(method)
    converted = workdir / f"{method}-converted.pth"
    save_checkpoint(converted, method_class.convert_weights(release), method=method, source=release)
    return (
        method_class,
        method_class.build_network(make_config(method_class.Config, config), converted),
        converted,
    )


def network_rows(theirs_model, ours_net, sizes, masks: int) -> list[tuple[str, float]]:
    """Encoder maps and decoder logits, theirs vs ours plain and ours as run
    (folded, channels-last)."""
    theirs_module = theirs_model.module if hasattr(theirs_model, "module") else theirs_model
    folded = ours_net.for_inference().to(memory_format=torch.channels_last)
    rows = []
    generator = torch.Generator().manual_seed(1)
    for height, width in sizes:
        rgb = torch.rand(1, 3, height, width, generator=generator)
        prev = torch.rand(masks, height, width, generator=generator)
        with torch.no_grad(), reference.quiet():
            their_feats = theirs_module.Encoder(rgb.expand(masks, -1, -1, -1), prev)
            ref_r5 = their_feats[0].flip(
                0
            )  # any reference features; reversed to pair different ones
            their_logits = theirs_module.Decoder(their_feats[0], ref_r5, *their_feats[1:])[0]
        with torch.inference_mode():
            for label, net in (("plain", ours_net), ("as run", folded)):
                layout = torch.channels_last if label == "as run" else torch.contiguous_format
                feats = net.Encoder(rgb.contiguous(memory_format=layout), prev.unsqueeze(1))
                logits = net.Decoder(feats, ref_r5.clone())
                for name, ours_t, theirs_t in zip(("r5", "r4", "r3", "r2"), feats, their_feats):
                    rows.append(
                        (
                            f"network {height}x{width} {label}: encoder {name}",
                            relative_difference(ours_t, theirs_t),
                        )
                    )
                rows.append(
                    (
                        f"network {height}x{width} {label}: decoder logits",
                        relative_difference(logits, their_logits),
                    )
                )
    return rows


def run_ours(
    method_class, config: dict, weights: Path, frames: np.ndarray, labels0: np.ndarray
) -> torch.Tensor:
    """Probabilities (T, K+1, H, W) from the vosbench method, fed frame by frame as the runner
    does."""
    from vosbench.runner import make_config

    ids = tuple(int(i) for i in np.unique(labels0) if i != 0)
    method = method_class(make_config(method_class.Config, config), weights=str(weights))
    method.reset(SequenceMeta("parity", len(frames), labels0.shape, ids))
    outputs = []
    with torch.inference_mode():
        for t, frame in enumerate(frames):
            mask = torch.from_numpy(labels0) if t == 0 else None
            outputs.append(
                method.step(torch.from_numpy(frame), mask, ids if t == 0 else None).clone()
            )
    return torch.stack(outputs)


def crop(padded: torch.Tensor, pad) -> torch.Tensor:
    """(…, H', W') → (…, H, W) with the authors' pad record ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = pad
    return padded[..., top : padded.shape[-2] - bottom, left : padded.shape[-1] - right]


def sequences(davis: Path | None, davis_frames: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, frames uint8 (T, H, W, 3), first-frame labels (H, W)) to propagate."""
    from vosbench.datasets import load_dataset

    synthetic = load_dataset("synthetic", None, "val", preset="small").sequences[0]
    found = [("synthetic 3 objects", synthetic)]
    if davis is not None:
        data = load_dataset("davis2016", davis, "val", sequences=["blackswan"])
        found.append(("DAVIS-2016 blackswan", data.sequences[0]))
    out = []
    for name, sequence in found:
        stems = sequence.frames[: davis_frames if "DAVIS" in name else len(sequence.frames)]
        frames = np.stack([sequence.read_frame(s) for s in stems])
        out.append(
            (
                f"{name} ({len(stems)} frames)",
                frames,
                sequence.read_annotation(stems[0]).astype(np.uint8),
            )
        )
    return out


def compare_rgmp(
    repo: Path, davis: Path | None, davis_frames: int, workdir: Path
) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    seqs = sequences(davis, davis_frames)
    for align in (False, True):
        tag = f"align_corners={align}"
        theirs = reference.load_rgmp(repo, align_corners=align if align else None, seed=0)
        tame_head(theirs.model)
        release = workdir / f"rgmp-release-{align}.pth"
        export_release(theirs.model, release, legacy=True)
        method_class, ours, weights = build_ours("rgmp", release, workdir, align_corners=align)
        sizes = [(96, 128)] + ([(512, 864)] if align else [])
        rows += [(f"[{tag}] {n}", d) for n, d in network_rows(theirs.model, ours, sizes, masks=3)]
        for name, frames, labels0 in seqs:
            num_objects = int(labels0.max())
            labels = np.repeat(labels0[None], len(frames), axis=0)
            all_F, all_M, pad = theirs.pad(frames, labels, num_objects, multi_object=True)
            their_probs = crop(theirs.infer_mo(all_F, all_M, len(frames), num_objects)[0], pad)
            ours_probs = run_ours(method_class, {"align_corners": align}, weights, frames, labels0)
            rows.append(
                (
                    f"[{tag}] protocol 3 scales, {name}",
                    relative_difference(ours_probs, their_probs.transpose(0, 1)),
                )
            )
    return rows


def compare_fan(
    repo: Path, davis: Path | None, davis_frames: int, workdir: Path
) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    theirs = reference.load_fan(repo, seed=0)  # their code as it runs today: align_corners=False
    tame_head(theirs.model)
    release = workdir / "fan-release.pth"
    export_release(theirs.model, release, legacy=False)
    method_class, ours, weights = build_ours("fan", release, workdir)
    rows += network_rows(theirs.model, ours, [(96, 128), (512, 864)], masks=2)
    for name, frames, labels0 in sequences(davis, davis_frames):
        binary = (labels0 > 0).astype(np.uint8)  # FAN's released script merges all objects
        labels = np.repeat(binary[None], len(frames), axis=0)
        all_F, all_M, pad = theirs.pad(frames, labels)
        their_fg = crop(
            theirs.infer_sequence(all_F, all_M[:, :, 0].float(), len(frames))[0, 0], pad
        )
        ours_probs = run_ours(method_class, {"reference": "previous"}, weights, frames, binary)
        rows.append(
            (
                f"protocol reference=previous, {name}",
                relative_difference(ours_probs[:, 1], their_fg),
            )
        )
    return rows


def compare_ranet(
    repo: Path, davis: Path | None, davis_frames: int, workdir: Path
) -> list[tuple[str, float]]:
    """Both released heads: network outputs, then whole sequences through the crop-and-track
    loop."""
    from vosbench.datasets import load_dataset

    rows: list[tuple[str, float]] = []
    data = load_dataset("synthetic", None, "val", preset="val", num_frames=davis_frames)
    by_objects = {len(s.prompts()[s.frames[0]]): s for s in data.sequences}
    for net_type, objects in (("single_object", 1), ("multi_object", 3)):
        theirs = reference.load_ranet(repo, net_type, seed=0)
        release = workdir / f"ranet-{net_type}.pth"
        torch.save(theirs.model.state_dict(), release)
        method_class, ours, weights = build_ours("ranet", release, workdir)
        sequence = by_objects[objects]
        frames = np.stack([sequence.read_frame(s) for s in sequence.frames])  # 480x854
        labels0 = sequence.read_annotation(sequence.frames[0]).astype(np.uint8)
        boxed = np.pad(frames, ((0, 0), (0, 0), (5, 5), (0, 0)))  # the letterbox of 854-wide frames
        boxed_labels = np.pad(labels0, ((0, 0), (5, 5)))
        x = theirs.preprocess(boxed[:2])
        with torch.no_grad(), reference.quiet():
            their_kernels = theirs.template(x[:1])
            their_map, _ = theirs.label_map(boxed_labels, content_box=(0, 5, 480, 859))
            their_out = theirs.forward(x[1:2], their_kernels, their_map.clone(), their_map.clone())
        with torch.inference_mode():
            our_kernels = ours.template(x[:1])
            objects_masks = torch.stack(
                [torch.from_numpy(boxed_labels == k).float() for k in range(1, objects + 1)]
            )[None]
            if objects == 1:
                our_out = ours.forward_single(x[1:2], our_kernels, objects_masks, objects_masks)
            else:
                template = torch.cat([1 - objects_masks.sum(1, keepdim=True), objects_masks], 1)
                our_out = ours.forward_multi(x[1:2], our_kernels, template, objects_masks)
        rows.append(
            (f"{net_type}: template kernels", relative_difference(our_kernels, their_kernels))
        )
        rows.append((f"{net_type}: head output", relative_difference(our_out, their_out)))
        their_seq = theirs.infer_sequence(boxed, boxed_labels, content_box=(0, 5, 480, 859))
        ours_probs = run_ours(method_class, {}, weights, frames, labels0)[
            :, 1:
        ]  # drop the 0.5 background
        theirs_probs = torch.from_numpy(their_seq.probs[..., 5:859])
        rows.append(
            (
                f"{net_type}: protocol, synthetic {objects} object(s) ({len(frames)} frames)",
                relative_difference(ours_probs, theirs_probs),
            )
        )
    return rows


def informative_cosnet(model: torch.nn.Module, seed: int) -> None:
    """Replace their initialisation (N(0, 0.01) convolutions, identity BatchNorms: features of order
    1e-3, a uniform attention) by seeded He-normal convolutions and perturbed BatchNorms, with each
    block's last norm damped so 33 residual blocks stay finite; the values are arbitrary, both sides
    get them through the release file."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(
                    torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
                )
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
            elif isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) * 0.4 + 0.8)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.4 + 0.8)
        for module in model.modules():
            if type(module).__name__ == "Bottleneck":
                module.bn3.weight.mul_(0.2)


def tame_cosnet(ref) -> None:
    """Scale W (``linear_e``), the gate and the three classifiers so that, on a probe pair, the
    affinity has a spread of about 3 and the gate and classifier logits about 2: otherwise the
    softmaxes and sigmoids saturate, and saturated values compare equal whatever precedes them."""
    model = ref.model
    generator = torch.Generator().manual_seed(7)
    probe_a, probe_b = (torch.randn(1, 3, 97, 97, generator=generator) * 50 for _ in range(2))
    va, vb = ref.encode(probe_a)[0], ref.encode(probe_b)[0]
    with torch.no_grad():
        affinity = model.linear_e(va.flatten(2).transpose(1, 2)) @ vb.flatten(2)
        model.linear_e.weight.mul_(3.0 / float(affinity.std()))
    for name in ("gate", "main_classifier1", "main_classifier2", "encoder.main_classifier"):
        module = model.get_submodule(name)
        seen: list[torch.Tensor] = []
        handle = module.register_forward_hook(
            lambda _m, _i, out, seen=seen: seen.append(out.detach())
        )
        ref.forward(probe_a, probe_b)
        handle.remove()
        with torch.no_grad():
            factor = 2.0 / float(torch.cat([s.flatten() for s in seen]).std())
            module.weight.mul_(factor)
            if module.bias is not None:
                module.bias.mul_(factor)
    ref.sync_group()


def export_cosnet_release(state: dict[str, torch.Tensor], path: Path, *, epoch: int | None) -> None:
    """As released: ``{"epoch", "model"}`` (the DeepLabv3 initialisation: ``{"model"}``) with
    DataParallel ``module.`` keys, in the pre-1.6 (non-zip) format PyTorch 1.0.1 wrote."""
    record: dict[str, object] = {"model": {f"module.{k}": v for k, v in state.items()}}
    if epoch is not None:
        record = {"epoch": epoch, **record}
    torch.save(record, path, _use_new_zipfile_serialization=False)


def run_cosnet(method, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, list[list[int]]]:
    """From the vosbench method fed frame by frame as the runner does (references read through
    ``frame_reader``): the averaged maps (T, 473, 473), the answers' foreground (T, H, W) and the
    references it drew."""
    averaged: list[torch.Tensor] = []
    probability = method.probability

    def recording(*args, **kwargs):
        out = probability(*args, **kwargs)
        averaged.append(out[0, 0].clone())
        return out

    method.probability = recording
    reader = lambda index: torch.from_numpy(frames[index])  # noqa: E731
    method.reset(SequenceMeta("parity", len(frames), frames.shape[1:3], frame_reader=reader))
    with torch.inference_mode():
        probs = torch.stack([method.step(torch.from_numpy(frame))[1].clone() for frame in frames])
    return torch.stack(averaged), probs, method.describe()["references_drawn"]


def compare_cosnet(
    repo: Path, davis: Path | None, davis_frames: int, workdir: Path
) -> list[tuple[str, float]]:
    """Network outputs at 97x97 and 473x473, the DeepLabv3 initialisation, whole videos through the
    test loop."""
    from vosbench.datasets import load_dataset
    from vosbench.runner import make_config

    rows: list[tuple[str, float]] = []
    theirs = reference.load_cosnet(repo, seed=0)
    informative_cosnet(theirs.model, seed=1)
    tame_cosnet(theirs)
    release = workdir / "cosnet-release.pth"
    export_cosnet_release(theirs.model.state_dict(), release, epoch=0)
    method_class, ours, weights = build_ours("cosnet", release, workdir)
    generator = torch.Generator().manual_seed(3)
    for size in (97, 473):
        a, b, c = (torch.randn(1, 3, size, size, generator=generator) * 50 for _ in range(3))
        their_va, their_saliency = theirs.encode(a)
        their_x1, their_x2, their_temp = theirs.forward(a, b)
        their_group = theirs.group_forward(a, torch.stack([b, c], 1))
        with torch.inference_mode():
            va, saliency = ours.encoder(a)
            vb, vc = ours.encoder.encode(b), ours.encoder.encode(c)
            x1 = ours.segment(va, vb, (size, size))
            forward = ours(a, b)
            group = ours.segment_group(va, [vb, vc], (size, size))
        tag = f"{size}x{size}"
        rows += [
            (f"network {tag}: encoder V", relative_difference(va, their_va)),
            (f"network {tag}: encoder saliency", relative_difference(saliency, their_saliency)),
            (f"network {tag}: x1 alone (segment)", relative_difference(x1, their_x1)),
            (
                f"network {tag}: forward x1, x2, temp",
                max(
                    relative_difference(o, t)
                    for o, t in zip(forward, (their_x1, their_x2, their_temp))
                ),
            ),
            (f"network {tag}: group x1, 2 references", relative_difference(group, their_group)),
        ]
    with reference._seeded(0), reference.quiet():
        deeplab = theirs.model_module.Res_Deeplab(num_classes=2).eval()
    informative_cosnet(deeplab, seed=2)
    init = workdir / "deeplab_davis_12_0.pth"
    export_cosnet_release(deeplab.state_dict(), init, epoch=None)
    converted = (
        workdir / "cosnet-init-converted.pth"
    )  # encoder only: a run refuses it, training loads it
    save_checkpoint(converted, method_class.convert_weights(init), method="cosnet", source=init)
    net = method_class.build_network(make_config(method_class.Config, {}))
    net.load_encoder(converted)
    probe = torch.randn(1, 3, 97, 97, generator=generator) * 50
    with torch.no_grad(), reference.quiet():
        their_fea, their_sal = deeplab(probe)
    with torch.inference_mode():
        fea, sal = net.encoder(probe)
    rows.append(
        (
            "DeepLabv3 initialisation converted: V and saliency",
            max(relative_difference(fea, their_fea), relative_difference(sal, their_sal)),
        )
    )

    videos = [
        (
            "synthetic",
            load_dataset("synthetic", None, "val", preset="val", num_frames=3).sequences[0],
            3,
        )
    ]
    if davis is not None:
        videos.append(
            (
                "DAVIS-2016 blackswan",
                load_dataset(
                    "davis2016", davis, "val", task="unsupervised", sequences=["blackswan"]
                ).sequences[0],
                davis_frames,
            )
        )
    for name, sequence, count in videos:
        frames = np.stack([sequence.read_frame(s) for s in sequence.frames[:count]])
        method = method_class(
            make_config(method_class.Config, {"references": "2"}), weights=str(weights)
        )
        ours_averaged, ours_probs, draws = run_cosnet(method, frames)
        their_averaged, their_probs = (torch.from_numpy(x) for x in theirs.test_loop(frames, draws))
        tag = (
            f"protocol 2 references, {name} ({len(frames)} frames, "
            f"{frames.shape[2]}x{frames.shape[1]})"
        )
        rows.append(
            (f"{tag}: averaged 473x473 maps", relative_difference(ours_averaged, their_averaged))
        )
        rows.append(
            (f"{tag}: maps at the frame size", relative_difference(ours_probs, their_probs))
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=("rgmp", "fan", "ranet", "cosnet"), required=True)
    parser.add_argument(
        "--repo", type=Path, required=True, help="checkout of the authors' repository"
    )
    parser.add_argument("--davis", type=Path, help="DAVIS-2016 root, to add a real 480p sequence")
    parser.add_argument(
        "--davis-frames", type=int, default=4, help="frames of the DAVIS sequence (default 4)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        compare = {
            "rgmp": compare_rgmp,
            "fan": compare_fan,
            "ranet": compare_ranet,
            "cosnet": compare_cosnet,
        }[args.method]
        rows = compare(args.repo, args.davis, args.davis_frames, Path(tmp))
    worst = max(d for _, d in rows)
    width = max(len(n) for n, _ in rows)
    for name, difference in rows:
        print(f"{name:<{width}}  {difference:.2e}  {'ok' if difference <= TOLERANCE else 'FAIL'}")
    verdict = "PASS" if worst <= TOLERANCE else "FAIL"
    print(
        f"{verdict}: {args.method} vs {args.repo} (commit "
        f"{reference._git_commit(args.repo.resolve()) or '?'}), largest relative difference "
        f"{worst:.2e} (tolerance {TOLERANCE:.0e}), {time.perf_counter() - started:.0f} s"
    )
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
