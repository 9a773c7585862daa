"""YouTube-VOS: the layout reader and its errors, late objects through the runner, the
submission layout and zip, and the local held-out score against hand-computed values."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vosbench.benchmarks.submission import write_submission
from vosbench.benchmarks.youtube_vos import evaluate_holdout, scored_frames, write_synthetic
from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets import youtube_vos as ytvos
from vosbench.errors import ConfigError, DatasetError, EvaluationError
from vosbench.io import read_mask, write_mask
from vosbench.io.masks import DAVIS_PALETTE
from vosbench.runner import RunSettings, run

FAST = RunSettings(warmup_frames=0, io_workers=0)
SIZE = (20, 24)  # H, W
STEMS = ("00000", "00005", "00010", "00015", "00020", "00025")


def square(top: int, left: int, side: int = 6) -> np.ndarray:
    mask = np.zeros(SIZE, dtype=bool)
    mask[top : top + side, left : left + side] = True
    return mask


CAT = square(2, 2)  # object 1, every frame
DOG = square(10, 12)  # object 2, from frame 00010 on


def gt_labels(stem: str) -> np.ndarray:
    labels = np.zeros(SIZE, dtype=np.uint8)
    labels[CAT] = 1
    if stem >= "00010":
        labels[DOG] = 2
    return labels


def write_video(split_dir: Path, video: str, masks: dict[str, np.ndarray], stems=STEMS) -> None:
    for stem in stems:
        frame = split_dir / "JPEGImages" / video / f"{stem}.jpg"
        frame.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (SIZE[1], SIZE[0]), (90, 90, 90)).save(frame)
    for stem, labels in masks.items():
        write_mask(split_dir / "Annotations" / video / f"{stem}.png", labels)


def write_meta(split_dir: Path, videos: dict) -> Path:
    path = split_dir / "meta.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"videos": videos}))
    return path


def constructed(root: Path) -> Path:
    """train/ with one video: a cat from frame 00000, a dog appearing at frame 00010."""
    split = root / "train"
    write_video(split, "v1", {stem: gt_labels(stem) for stem in STEMS})
    objects = {
        "1": {"category": "cat", "frames": list(STEMS)},
        "2": {"category": "dog", "frames": list(STEMS[2:])},
    }
    write_meta(split, {"v1": {"objects": objects}})
    return root


def valid_layout(root: Path) -> Path:
    """valid/: annotations only where each object first appears, holding only that object."""
    split = root / "valid"
    first = {"00000": np.where(gt_labels("00000") == 1, 1, 0).astype(np.uint8)}
    first["00010"] = np.where(gt_labels("00010") == 2, 2, 0).astype(np.uint8)
    write_video(split, "v1", first)
    objects = {
        "1": {"category": "cat", "frames": list(STEMS)},
        "2": {"category": "dog", "frames": list(STEMS[2:])},
    }
    write_meta(split, {"v1": {"objects": objects}})
    return root


# -- the layout reader ------------------------------------------------------------------------
def test_valid_reader_late_objects(tmp_path):
    data = load_dataset("youtube-vos", valid_layout(tmp_path), "valid")
    (video,) = data
    assert data.name == "youtube-vos" and data.info["scoring"] == "server"
    assert video.frames == STEMS and video.annotated == ("00000", "00010")
    assert video.object_ids == (1, 2)
    assert video.prompts() == {"00000": (1,), "00010": (2,)}
    assert video.required == STEMS
    assert video.attributes["categories"] == {"1": "cat", "2": "dog"}


def test_first_appearance_follows_the_masks(tmp_path):
    """meta.json names a frame the object is not in (as it does for a few real videos)."""
    root = valid_layout(tmp_path)
    meta = json.loads((root / "valid/meta.json").read_text())
    meta["videos"]["v1"]["objects"]["2"]["frames"] = list(STEMS)  # claims 00000
    (root / "valid/meta.json").write_text(json.dumps(meta))
    (video,) = load_dataset("youtube-vos", root, "valid")
    assert video.first_appearance == {1: "00000", 2: "00010"}


def test_year_2018_is_its_own_dataset(tmp_path):
    data = load_dataset("youtube-vos-2018", valid_layout(tmp_path), "valid")
    assert data.name == "youtube-vos-2018" and data.info["year"] == 2018
    assert load_dataset("youtube-vos-2019", tmp_path, "valid").name == "youtube-vos"


def test_missing_meta_json(tmp_path):
    root = valid_layout(tmp_path)
    (root / "valid/meta.json").unlink()
    with pytest.raises(DatasetError, match=r"valid/meta\.json: meta\.json not found"):
        load_dataset("youtube-vos", root, "valid")


def test_object_without_masks(tmp_path):
    root = valid_layout(tmp_path)
    meta = json.loads((root / "valid/meta.json").read_text())
    meta["videos"]["v1"]["objects"]["3"] = {"category": "owl", "frames": ["00015", "00020"]}
    (root / "valid/meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=r"meta\.json: video 'v1' object 3 has no mask"):
        load_dataset("youtube-vos", root, "valid")


def test_object_absent_from_its_masks(tmp_path):
    root = valid_layout(tmp_path)
    meta = json.loads((root / "valid/meta.json").read_text())
    meta["videos"]["v1"]["objects"]["3"] = {"category": "owl", "frames": ["00010"]}
    (root / "valid/meta.json").write_text(json.dumps(meta))
    (video,) = load_dataset("youtube-vos", root, "valid")
    with pytest.raises(DatasetError, match="object 3 appears in none of its annotation masks"):
        video.prompts()


def test_frame_outside_the_video(tmp_path):
    root = valid_layout(tmp_path)
    meta = json.loads((root / "valid/meta.json").read_text())
    meta["videos"]["v1"]["objects"]["1"]["frames"].append("00030")
    (root / "valid/meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=r"object 1 lists 1 frame\(s\) that are not in .*00030"):
        load_dataset("youtube-vos", root, "valid")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("[1, 2]", r'expected an object \{"videos"'),
        ("{not json", "is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply|not valid JSON"),
        ('{"videos": {"..": {"objects": {}}}}', r"video name '\.\.' is the parent folder"),
        ('{"videos": {"v1": {"objects": {"x": {"frames": ["00000"]}}}}}', "object ids are whole"),
        ('{"videos": {"v1": {"objects": {"0": {"frames": ["00000"]}}}}}', "object ids are whole"),
        ('{"videos": {"v1": {"objects": {"1": {"frames": "00000"}}}}}', "expected a non-empty"),
        ('{"videos": {"v1": {"objects": {"1": {"frames": ["../x"]}}}}}', "path separator"),
        ('{"videos": {"v1": {"objects": {"1": {"frames": [5]}}}}}', "is a int, not text"),
        ('{"videos": {"v1": {"objects": {"1": {"category": 3, "frames": []}}}}}', "category"),
        ('{"videos": {"v1": []}}', r'videos\.v1: expected \{"objects"'),
    ],
)
def test_hostile_meta_json(tmp_path, meta, message):
    root = valid_layout(tmp_path)
    (root / "valid/meta.json").write_text(meta)
    with pytest.raises(DatasetError, match=message) as error:
        load_dataset("youtube-vos", root, "valid")
    assert "meta.json" in str(error.value)


def test_huge_meta_json_is_refused_unread(tmp_path, monkeypatch):
    root = valid_layout(tmp_path)
    monkeypatch.setattr(ytvos, "META_MAX_BYTES", 64)
    with pytest.raises(DatasetError, match="larger than the 64 bytes"):
        load_dataset("youtube-vos", root, "valid")


def test_cli_errors_name_the_file(tmp_path, capsys):
    root = valid_layout(tmp_path)
    (root / "valid/meta.json").write_text('{"videos": 3}')
    code = main(["validate", "--dataset", "youtube-vos", "--root", str(root), "--split", "valid"])
    err = capsys.readouterr().err
    assert code == 1 and "meta.json" in err and "Traceback" not in err


def test_missing_video_folder_is_a_partial_split(tmp_path):
    root = valid_layout(tmp_path)
    meta = json.loads((root / "valid/meta.json").read_text())
    meta["videos"]["v2"] = meta["videos"]["v1"]
    (root / "valid/meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="1 of 2 sequences of youtube-vos/valid"):
        load_dataset("youtube-vos", root, "valid")
    assert load_dataset("youtube-vos", root, "valid", allow_missing=True).names == ["v1"]


def test_all_frames_split_reads_the_30fps_folder(tmp_path):
    root = valid_layout(tmp_path)
    frames = root / "all_frames" / "valid_all_frames" / "JPEGImages" / "v1"
    frames.mkdir(parents=True)
    for t in range(26):
        Image.new("RGB", (SIZE[1], SIZE[0])).save(frames / f"{t:05d}.jpg")
    (video,) = load_dataset("youtube-vos", root, "valid_all_frames")
    assert len(video.frames) == 26 and video.required == STEMS
    assert video.prompts() == {"00000": (1,), "00010": (2,)}


def test_unknown_split_and_task(tmp_path):
    root = valid_layout(tmp_path)
    with pytest.raises(DatasetError, match="has no split 'val'; choose one of"):
        load_dataset("youtube-vos", root, "val")
    with pytest.raises(DatasetError, match="semi-supervised task only"):
        load_dataset("youtube-vos", root, "valid", task="unsupervised")


# -- the held-out split -----------------------------------------------------------------------
def documented_rank(seed: int, kind: str, name: str) -> str:
    return hashlib.sha256(f"vosbench-youtube-vos-holdout:{seed}:{kind}:{name}".encode()).hexdigest()


def test_holdout_rule():
    cats = [f"c{i:02d}" for i in range(20)]
    meta = {
        f"v{i:03d}": {1: ytvos.ObjectMeta(cats[i % 20], ("00000",))} for i in range(200)
    }  # ten videos per category
    split = ytvos.holdout_split(meta, seed=3)
    unseen = sorted(cats, key=lambda c: documented_rank(3, "category", c))[:2]  # 10 % of 20
    assert split.unseen_categories == tuple(sorted(unseen))
    showing = {v for v, objects in meta.items() if objects[1].category in unseen}
    others = sorted(set(meta) - showing, key=lambda v: documented_rank(3, "video", v))
    assert set(split.videos) == showing | set(others[:9])  # 5 % of the 180 others
    assert ytvos.holdout_split(meta, seed=3) == split  # reproducible
    assert ytvos.holdout_split(meta, seed=4).unseen_categories != split.unseen_categories


def test_holdout_and_train_rest_partition_train(tmp_path):
    root = tmp_path / "yt"
    write_synthetic(root, "small", split="train")
    train = load_dataset("youtube-vos", root, "train")
    held = load_dataset("youtube-vos", root, "holdout")
    rest = load_dataset("youtube-vos", root, "train_rest")
    assert sorted(held.names + rest.names) == sorted(train.names)
    assert not set(held.names) & set(rest.names)
    unseen = held.info["holdout"]["unseen_categories"]
    for video in rest:  # training never sees an unseen category
        assert not set(video.attributes["categories"].values()) & set(unseen)
    assert held.info["scoring"] == "local"


# -- the runner on the layout: late objects ---------------------------------------------------
@pytest.mark.parametrize("method", ["first-frame", "flow"])
def test_runner_hands_late_objects_at_their_first_frame(tmp_path, method):
    root = valid_layout(tmp_path / "data")
    data = load_dataset("youtube-vos", root, "valid")
    result = run(method, data, settings=FAST, output=tmp_path / "run")
    assert result.ok and result.evaluation is None
    assert "scored by its evaluation server" in result.evaluation_note
    masks = tmp_path / "run" / "masks" / "v1"
    assert not (read_mask(masks / "00005.png") == 2).any()  # not handed in yet
    assert (read_mask(masks / "00010.png") == 2).sum() == DOG.sum()  # the prompt itself
    assert (read_mask(masks / "00015.png") == 2).any()
    assert sorted(p.name for p in (tmp_path / "run/submission/Annotations/v1").iterdir()) == [
        f"{s}.png" for s in STEMS
    ]


def test_runner_on_synthetic_layout_with_flow(tmp_path):
    root = write_synthetic(tmp_path / "yt", "small", split="valid")
    data = load_dataset("youtube-vos", root, "valid")
    late = [v for v in data if len(v.prompts()) > 1]
    assert late, "the synthetic layout has objects that appear late"
    result = run("flow", data, settings=FAST, output=tmp_path / "run")
    assert result.ok
    for video in late:
        stem, ids = list(video.prompts().items())[1]
        before = video.frames[video.frames.index(stem) - 1]
        labels = read_mask(tmp_path / "run" / "masks" / video.name / f"{before}.png")
        assert not np.isin(labels, ids).any()


# -- the submission ---------------------------------------------------------------------------
def test_submission_zip_layout(tmp_path, capsys):
    root = write_synthetic(tmp_path / "yt", "small", split="valid", all_frames=True)
    data = load_dataset("youtube-vos", root, "valid_all_frames")
    run("first-frame", data, settings=FAST, output=tmp_path / "run")
    out = tmp_path / "sub.zip"
    assert main(["submission", str(tmp_path / "run"), "-o", str(out)]) == 0
    expected = {f"Annotations/{v.name}/{s}.png" for v in data for s in v.required}
    assert all(len(v.frames) > len(v.required) for v in data)  # 30 fps ran, 6 fps submitted
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == expected
        for name in sorted(expected)[:6]:
            image = Image.open(io.BytesIO(archive.read(name)))
            assert image.mode == "P"
            palette = np.asarray(image.getpalette()[: 3 * 4]).reshape(4, 3)
            assert (palette == np.asarray(DAVIS_PALETTE)[:4]).all()
            video, stem = name.split("/")[1], name.split("/")[2][:-4]
            on_disk = read_mask(tmp_path / "run" / "masks" / video / f"{stem}.png")
            assert (np.asarray(image) == on_disk).all()
    again = tmp_path / "again.zip"
    write_submission(tmp_path / "run", again)
    assert again.read_bytes() == out.read_bytes()  # deterministic
    assert main(["submission", str(tmp_path / "run"), "-o", str(out)]) == 1  # exists
    assert "exists" in capsys.readouterr().err


def test_submission_refuses_missing_frames_and_videos(tmp_path):
    root = valid_layout(tmp_path / "data")
    data = load_dataset("youtube-vos", root, "valid")
    run("first-frame", data, settings=FAST, output=tmp_path / "run")
    (tmp_path / "run/masks/v1/00020.png").unlink()
    with pytest.raises(EvaluationError, match=r"1 of the 6 frames the server scores.*00020"):
        write_submission(tmp_path / "run", tmp_path / "a.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationError, match="1 of the 1 videos of youtube-vos/valid"):
        write_submission(tmp_path / "empty", tmp_path / "b.zip", dataset=data)


def test_submission_reencodes_and_checks_sizes(tmp_path):
    data = load_dataset("youtube-vos", valid_layout(tmp_path / "data"), "valid")
    masks = tmp_path / "masks" / "v1"
    masks.mkdir(parents=True)
    for stem in STEMS:
        Image.fromarray(gt_labels(stem), mode="L").save(masks / f"{stem}.png")
    packed = write_submission(tmp_path / "masks", tmp_path / "s.zip", dataset=data)
    assert packed.converted == 6
    with zipfile.ZipFile(tmp_path / "s.zip") as archive:
        image = Image.open(io.BytesIO(archive.read("Annotations/v1/00015.png")))
        assert image.mode == "P" and (np.asarray(image) == gt_labels("00015")).all()
    Image.new("P", (SIZE[1] + 1, SIZE[0])).save(masks / "00005.png")
    with pytest.raises(EvaluationError, match=r"00005\.png: mask is 25×20 .* frames are 24×20"):
        write_submission(tmp_path / "masks", tmp_path / "t.zip", dataset=data)


def test_submission_refuses_local_splits(tmp_path):
    data = load_dataset("youtube-vos", constructed(tmp_path / "data"), "train")
    with pytest.raises(ConfigError, match="scored locally"):
        write_submission(tmp_path, tmp_path / "x.zip", dataset=data)


# -- local scoring, hand-computed -------------------------------------------------------------
def test_holdout_scores_by_hand(tmp_path):
    """Cat (object 1): scored on 00005 … 00025, right on three, empty on two: J = F = 3/5.
    Dog (object 2, appears at 00010): scored on 00015 … 00025 (its first frame is not, though
    it is predicted empty there), right on two, empty on one: J = F = 2/3."""
    root = constructed(tmp_path / "data")
    data = load_dataset("youtube-vos", root, "holdout")
    assert data.names == ["v1"]  # it shows the unseen category, whichever it is
    (video,) = data
    assert scored_frames(video) == {1: STEMS[1:], 2: STEMS[3:]}
    results = tmp_path / "results"
    for stem in STEMS:
        labels = gt_labels(stem)
        if stem in ("00020", "00025"):
            labels[CAT] = 0
        if stem in ("00010", "00025"):
            labels[DOG] = 0
        write_mask(results / "v1" / f"{stem}.png", labels)
    result = evaluate_holdout(data, results)
    cat, dog = result.objects
    assert cat.j.tolist() == [1, 1, 1, 0, 0] and cat.f.tolist() == [1, 1, 1, 0, 0]
    assert dog.j.tolist() == [1, 1, 0] and dog.f.tolist() == [1, 1, 0]
    unseen = min(("cat", "dog"), key=lambda c: documented_rank(0, "category", c))
    value = {"cat": 3 / 5, "dog": 2 / 3}
    seen = "dog" if unseen == "cat" else "cat"
    expected = {
        "J-seen": value[seen],
        "F-seen": value[seen],
        "J-unseen": value[unseen],
        "F-unseen": value[unseen],
        "G": (3 / 5 + 2 / 3) / 2,
    }
    metrics = result.global_metrics()
    assert list(metrics)[:5] == ["G", "J-seen", "F-seen", "J-unseen", "F-unseen"]
    assert {k: metrics[k] for k in expected} == pytest.approx(expected, abs=1e-12)
    assert metrics["J-Mean"] == pytest.approx((3 / 5 + 2 / 3) / 2, abs=1e-12)  # over objects
    assert [o.group for o in result.objects] == [
        "unseen" if unseen == "cat" else "seen",
        "unseen" if unseen == "dog" else "seen",
    ]


def test_holdout_refuses_server_splits(tmp_path):
    data = load_dataset("youtube-vos", valid_layout(tmp_path), "valid")
    with pytest.raises(EvaluationError, match="scored by the CodaLab server only"):
        evaluate_holdout(data, tmp_path)


def test_validate_accepts_sparse_annotations_and_names_absent_objects(tmp_path, capsys):
    root = valid_layout(tmp_path)
    args = ["validate", "--dataset", "youtube-vos", "--root", str(root), "--split", "valid"]
    assert main(args) == 0
    assert "0 error(s)" in capsys.readouterr().out
    meta = json.loads((root / "valid/meta.json").read_text())
    meta["videos"]["v1"]["objects"]["3"] = {"category": "owl", "frames": ["00010"]}
    (root / "valid/meta.json").write_text(json.dumps(meta))
    assert main(args) == 1
    assert "object 3 appears in none of its annotation masks" in capsys.readouterr().out


def test_eval_and_datasets_commands(tmp_path, capsys):
    root = constructed(tmp_path / "data")
    data = load_dataset("youtube-vos", root, "holdout")
    run("first-frame", data, settings=FAST, output=tmp_path / "run")
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "J-seen" in out and "J-unseen" in out
    rows = (tmp_path / "run" / "youtube-vos_results-holdout.csv").read_text().splitlines()
    assert rows[0] == "G,J-seen,F-seen,J-unseen,F-unseen,Objects-seen,Objects-unseen"
    assert rows[1].endswith(",1,1")
    per_object = (tmp_path / "run" / "per-object_results-holdout.csv").read_text()
    assert "Group" in per_object.splitlines()[0]
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "youtube-vos-2018" in listing and "G = mean of J-seen" in listing
    assert "mose" in listing and "every frame" in listing


def test_synth_layout_commands(tmp_path, capsys):
    out = tmp_path / "yt"
    assert main(["synth", str(out), "--layout", "youtube-vos", "--preset", "small"]) == 0
    assert (
        main(
            ["synth", str(out), "--layout", "youtube-vos", "--preset", "small", "--split", "train"]
        )
        == 0
    )
    assert (out / "valid" / "meta.json").is_file() and (out / "train" / "meta.json").is_file()
    args = ["--dataset", "youtube-vos", "--root", str(out), "--warmup", "0"]
    assert (
        main(["run", "-m", "first-frame", *args, "--split", "valid", "-o", str(tmp_path / "v")])
        == 0
    )
    assert (
        main(["run", "-m", "first-frame", *args, "--split", "holdout", "-o", str(tmp_path / "h")])
        == 0
    )
    captured = capsys.readouterr()
    assert "J-unseen" in captured.out and "Traceback" not in captured.err
    assert main(["eval", str(tmp_path / "v")]) == 1
    assert "scored by the CodaLab server only" in capsys.readouterr().err


def test_object_first_seen_on_the_last_annotated_frame(tmp_path):
    """It is handed to the method there and never scored; the other objects still are."""
    root = constructed(tmp_path / "data")
    owl = square(14, 1, side=4)
    labels = gt_labels("00025")
    labels[owl] = 3
    write_mask(root / "train/Annotations/v1/00025.png", labels)
    meta = json.loads((root / "train/meta.json").read_text())
    meta["videos"]["v1"]["objects"]["3"] = {"category": "owl", "frames": ["00025"]}
    (root / "train/meta.json").write_text(json.dumps(meta))
    data = load_dataset("youtube-vos", root, "holdout")
    assert "v1" in data.names
    run("first-frame", data, settings=FAST, output=tmp_path / "run")
    result = evaluate_holdout(data, tmp_path / "run" / "masks")
    assert [o.object_id for o in result.objects] == [1, 2]


def test_the_catalogue_lists_the_splits_the_loader_reads():
    """The catalogue keeps its own copy (it must not import the loader): the two must agree."""
    from vosbench.datasets import YOUTUBE_VOS_SPLITS
    from vosbench.datasets.youtube_vos import SPLITS

    assert sorted(YOUTUBE_VOS_SPLITS) == sorted(SPLITS)
