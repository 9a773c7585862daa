"""File-based dataset loaders (DAVIS-2016/2017, SegTrackv2, folder) and dataset validation."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vosbench.datasets import load_dataset, validate_dataset
from vosbench.datasets.davis import load_davis2016, load_davis2017
from vosbench.datasets.folder import load_folder
from vosbench.datasets.segtrack import load_segtrackv2
from vosbench.errors import DatasetError, MaskFormatError
from vosbench.io import write_mask

H, W = 12, 16


# ------------------------------------------------------------------------------------------
# tiny on-disk fixtures


def _labels(value: int = 1, shape=(H, W)) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[2:6, 3:9] = value
    return labels


def _grey(path: Path, array: np.ndarray, mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array, "L")
    (image.convert(mode) if mode != "L" else image).save(path)
    return path


def _rgb(path: Path, array: np.ndarray) -> Path:
    """A SegTrackv2-style grey mask stored in three equal channels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.stack([array] * 3, axis=-1), "RGB").save(path)
    return path


def _frame(path: Path, size=(W, H)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 20, 30)).save(path)
    return path


def _davis_sequence(
    root: Path,
    name: str,
    count: int,
    *,
    resolution: str = "480p",
    annotations: str = "Annotations",
    jpegs: bool = True,
    value: int = 255,
    annotated: Iterable[int] | None = None,
) -> None:
    for i in annotated if annotated is not None else range(count):
        _grey(root / annotations / resolution / name / f"{i:05d}.png", _labels(value))
    if jpegs:
        for i in range(count):
            _frame(root / "JPEGImages" / resolution / name / f"{i:05d}.jpg")


def _pair_lines(sequences: dict[str, int], resolution: str = "480p", tail: str = " ") -> str:
    return "\n".join(
        f"/JPEGImages/{resolution}/{name}/{i:05d}.jpg "
        f"/Annotations/{resolution}/{name}/{i:05d}.png{tail}"
        for name, count in sequences.items()
        for i in range(count)
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def _davis2016(root: Path, sequences: dict[str, int]) -> Path:
    for name, count in sequences.items():
        _davis_sequence(root, name, count)
    _write(root / "ImageSets" / "480p" / "val.txt", _pair_lines(sequences))  # no final newline
    return root


DB_INFO = """attributes: [AC, BC, CS, DB, DEF, EA, FM, HO, IO, LR, MB, OCC, OV, ROT, SC, SV]
sets: [training,test]
sequences:
- attributes: [LR, SV]
  name: b
  num_frames: 2
  set: test
  eval_t: False
- attributes: []
  name: a
  num_frames: 3
  set: test
  eval_t: True
"""


# ------------------------------------------------------------------------------------------
# DAVIS-2016


def test_davis2016_pair_list_keeps_first_appearance_order(tmp_path):
    root = _davis2016(tmp_path, {"b": 2, "a": 3})
    text = (root / "ImageSets" / "480p" / "val.txt").read_text()
    assert text.endswith(".png ") and "\n" in text  # trailing space, final newline missing

    dataset = load_davis2016(root, "val")

    assert dataset.names == ["b", "a"]
    assert [len(s) for s in dataset] == [2, 3]
    assert dataset.binary is True and dataset.problems == []
    sequence = dataset["a"]
    assert sequence.frames == ("00000", "00001", "00002")
    assert sequence.object_ids == (1,)
    assert sequence.void_label is None and sequence.mask_rule == "nonzero"
    labels = sequence.read_annotation("00001")
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == {0, 1}
    assert sequence.read_frame("00000").shape == (H, W, 3)
    assert dataset.info == {
        "year": 2016,
        "resolution": "480p",
        "mask_rule": "nonzero",
        "annotation_folder": "Annotations/480p",
        "image_folder": "JPEGImages/480p",
        "split_list": "ImageSets/480p/val.txt",
    }


def test_davis2016_name_only_list_is_stripped(tmp_path):
    _davis_sequence(tmp_path, "bear", 2)
    _davis_sequence(tmp_path, "dog", 1)
    _write(tmp_path / "ImageSets" / "2016" / "train.txt", "bear \r\n\r\n  dog")

    dataset = load_dataset("davis2016", tmp_path, "train")

    assert dataset.names == ["bear", "dog"]
    assert dataset.info["split_list"] == "ImageSets/2016/train.txt"


def test_davis2016_1080p_falls_back_to_full_resolution_folder(tmp_path):
    _davis_sequence(tmp_path, "cows", 2, resolution="Full-Resolution")
    _write(
        tmp_path / "ImageSets" / "1080p" / "val.txt",
        _pair_lines({"cows": 2}, "1080p", tail="") + "\n",
    )

    dataset = load_davis2016(tmp_path, "val", resolution="1080p")

    assert dataset.names == ["cows"] and len(dataset["cows"]) == 2
    assert dataset.info["resolution"] == "1080p"
    assert dataset.info["annotation_folder"] == "Annotations/Full-Resolution"


def test_davis2016_unknown_resolution_is_a_config_error(tmp_path):
    _davis2016(tmp_path, {"a": 1})
    with pytest.raises(DatasetError) as error:
        load_davis2016(tmp_path, "val", resolution="720p")
    assert error.value.kind == "config" and "720p" in str(error.value)


@pytest.mark.parametrize("location", ["Annotations/db_info.yml", "db_info.yml"])
def test_davis2016_attributes_from_db_info(tmp_path, location):
    root = _davis2016(tmp_path, {"b": 2, "a": 3})
    _write(root / location, DB_INFO)

    dataset = load_davis2016(root, "val")

    assert dataset["b"].attributes == {"attributes": ["LR", "SV"], "eval_t": False, "num_frames": 2}
    assert dataset["a"].attributes == {"attributes": [], "eval_t": True, "num_frames": 3}
    assert dataset.problems == []


def test_davis2016_db_info_frame_count_disagreement_is_reported(tmp_path):
    root = _davis2016(tmp_path, {"b": 2, "a": 2})
    _write(root / "db_info.yml", DB_INFO)  # says a has 3 frames

    problems = load_davis2016(root, "val").problems

    assert [(p.kind, p.path) for p in problems] == [("warning", root / "JPEGImages" / "480p" / "a")]
    assert "db_info lists 3" in problems[0].message


def test_davis2016_missing_sequences_are_problems_not_errors(tmp_path):
    _davis_sequence(tmp_path, "bear", 2)
    _write(
        tmp_path / "ImageSets" / "480p" / "train.txt",
        _pair_lines({"bear": 2, "boat": 3, "bus": 1}) + "\n",
    )

    dataset = load_davis2016(tmp_path, "train")

    assert dataset.names == ["bear"] and dataset.listed == ("bear", "boat", "bus")
    assert dataset.missing == ["boat", "bus"]
    assert [p.kind for p in dataset.problems] == ["missing", "missing"]
    assert "'boat'" in dataset.problems[0].message and "'bus'" in dataset.problems[1].message
    assert dataset.problems[0].path == tmp_path / "Annotations" / "480p" / "boat"
    assert validate_dataset(dataset) == dataset.problems  # bear itself is clean


def test_davis2016_no_sequence_on_disk_raises_listing_them(tmp_path):
    _write(tmp_path / "ImageSets" / "480p" / "val.txt", _pair_lines({"boat": 1, "bus": 1}))
    with pytest.raises(DatasetError) as error:
        load_davis2016(tmp_path, "val")
    message = str(error.value)
    assert "'boat'" in message and "'bus'" in message and error.value.kind == "missing"


def test_davis2016_missing_list_names_expected_files(tmp_path):
    _davis_sequence(tmp_path, "bear", 1)
    _write(tmp_path / "ImageSets" / "480p" / "train.txt", _pair_lines({"bear": 1}))
    with pytest.raises(DatasetError) as error:
        load_davis2016(tmp_path, "val")
    message = str(error.value)
    assert "ImageSets/480p/val.txt" in message and "ImageSets/2016/val.txt" in message
    assert "lists found there: train" in message


def test_davis2016_listed_frame_without_annotation_is_reported(tmp_path):
    _davis_sequence(tmp_path, "bear", 3, annotated=[0, 1])
    _write(tmp_path / "ImageSets" / "480p" / "val.txt", _pair_lines({"bear": 3}))

    problems = load_davis2016(tmp_path, "val").problems

    assert [(p.kind, p.path) for p in problems] == [
        ("missing", tmp_path / "Annotations" / "480p" / "bear" / "00002.png")
    ]


def test_davis2016_frames_fall_back_to_annotation_stems_without_jpegs(tmp_path):
    _davis_sequence(tmp_path, "bear", 3, jpegs=False)
    _write(tmp_path / "ImageSets" / "2016" / "val.txt", "bear\n")

    sequence = load_davis2016(tmp_path, "val")["bear"]

    assert sequence.frames == ("00000", "00001", "00002") == sequence.annotated
    assert sequence.frame_path("00000") is None


def test_davis2016_grey_alpha_mask_reads_channel_zero(tmp_path):
    _davis2016(tmp_path, {"bear": 2})
    _grey(tmp_path / "Annotations" / "480p" / "bear" / "00001.png", _labels(255), mode="LA")

    labels = load_davis2016(tmp_path, "val")["bear"].read_annotation("00001")

    assert labels.shape == (H, W) and int(labels.sum()) == 4 * 6


# ------------------------------------------------------------------------------------------
# DAVIS-2017


def _davis2017_mask(path: Path, ids: Iterable[int], void: bool = True) -> Path:
    labels = np.zeros((H, W), np.uint8)
    for k, obj in enumerate(ids):
        labels[1 + 3 * k : 3 + 3 * k, 1:5] = obj
    if void:
        labels[-2:, -3:] = 255
    return write_mask(path, labels)


def test_davis2017_index_masks_with_void(tmp_path):
    for i in range(3):
        _davis2017_mask(
            tmp_path / "Annotations" / "480p" / "tennis" / f"{i:05d}.png",
            [1, 2, 3] if i else [1, 2],
        )
        _frame(tmp_path / "JPEGImages" / "480p" / "tennis" / f"{i:05d}.jpg")
    _write(tmp_path / "ImageSets" / "2017" / "val.txt", " tennis \r\n")

    dataset = load_davis2017(tmp_path, "val")
    sequence = dataset["tennis"]

    assert (
        dataset.binary is False
        and dataset.info["mask_rule"] == "index"
        and dataset.info["year"] == 2017
    )
    assert sequence.void_label == 255 and sequence.mask_rule == "index"
    assert set(np.unique(sequence.read_annotation("00000"))) == {0, 1, 2, 255}
    assert sequence.object_ids == (1, 2)  # official rule: max id of frame 0, void excluded
    late = validate_dataset(dataset)
    assert [(p.kind, p.path.name) for p in late] == [("warning", "00001.png")]
    assert "id(s) 3" in late[0].message


def test_davis2017_test_dev_has_first_frame_annotation_only(tmp_path):
    _davis2017_mask(
        tmp_path / "Annotations" / "480p" / "salsa" / "00000.png", [1, 2, 3], void=False
    )
    for i in range(5):
        _frame(tmp_path / "JPEGImages" / "480p" / "salsa" / f"{i:05d}.jpg")
    _write(tmp_path / "ImageSets" / "2017" / "test-dev.txt", "salsa\n")

    dataset = load_davis2017(tmp_path, "test-dev")
    sequence = dataset["salsa"]

    assert sequence.frames == ("00000", "00001", "00002", "00003", "00004")
    assert sequence.annotated == ("00000",)
    assert sequence.object_ids == (1, 2, 3)
    assert validate_dataset(dataset) == []


def test_davis2017_unsupervised_reads_its_own_annotations_and_2019_lists(tmp_path):
    _davis2017_mask(tmp_path / "Annotations" / "480p" / "dogs" / "00000.png", [1])
    _davis2017_mask(
        tmp_path / "Annotations_unsupervised" / "480p" / "dogs" / "00000.png", [1, 2, 3, 4]
    )
    _write(tmp_path / "ImageSets" / "2017" / "val.txt", "dogs\n")
    for i in range(2):
        _frame(tmp_path / "JPEGImages" / "480p" / "cats" / f"{i:05d}.jpg")
    _write(tmp_path / "ImageSets" / "2019" / "test-dev.txt", "cats\n")

    semi = load_davis2017(tmp_path, "val")
    unsup = load_dataset("davis2017", tmp_path, "val", task="unsupervised")
    test = load_davis2017(tmp_path, "test-dev", task="unsupervised")

    assert semi["dogs"].object_ids == (1,) and unsup["dogs"].object_ids == (1, 2, 3, 4)
    assert (
        unsup.task == "unsupervised"
        and unsup.info["annotation_folder"] == "Annotations_unsupervised/480p"
    )
    assert test.info["split_list"] == "ImageSets/2019/test-dev.txt"
    assert test["cats"].frames == ("00000", "00001") and test["cats"].annotated == ()
    with pytest.raises(DatasetError, match="ImageSets/2017/test-dev.txt"):
        load_davis2017(tmp_path, "test-dev")  # the semi-supervised test list lives in 2017/


def test_davis2017_full_resolution_accepts_1080p_folder(tmp_path):
    _davis2017_mask(tmp_path / "Annotations" / "1080p" / "pigs" / "00000.png", [1, 2])
    _write(tmp_path / "ImageSets" / "2017" / "train.txt", "pigs")

    dataset = load_davis2017(tmp_path, "train", resolution="Full-Resolution")

    assert dataset.names == ["pigs"] and dataset.info["annotation_folder"] == "Annotations/1080p"
    assert dataset.info["resolution"] == "Full-Resolution"


def test_davis2017_bad_task_is_rejected(tmp_path):
    with pytest.raises(DatasetError, match="unknown task"):
        load_davis2017(tmp_path, "val", task="interactive")


# ------------------------------------------------------------------------------------------
# SegTrackv2


def _soft(values: dict[tuple, int]) -> np.ndarray:
    array = np.zeros((H, W), np.uint8)
    for (y, x), value in values.items():
        array[y, x] = value
    return array


def test_segtrack_mixed_extensions_threshold_and_soft_void(tmp_path):
    seq = "birdfall"
    _frame(tmp_path / "JPEGImages" / seq / "bird_00018.png")
    _frame(tmp_path / "JPEGImages" / seq / "bird_00019.BMP")
    _rgb(
        tmp_path / "GroundTruth" / seq / "bird_00018.bmp",
        _soft({(0, 0): 255, (0, 1): 128, (0, 2): 127, (0, 3): 5}),
    )
    _rgb(tmp_path / "GroundTruth" / seq / "bird_00019.PNG", _soft({(1, 1): 200}))

    dataset = load_segtrackv2(tmp_path)
    sequence = dataset[seq]
    labels = sequence.read_annotation("bird_00018")

    assert sequence.frames == ("bird_00018", "bird_00019") == sequence.annotated
    assert labels[0, :5].tolist() == [1, 1, 0, 0, 0]
    assert sequence.object_ids == (1,) and sequence.void_label is None and dataset.binary is True
    assert dataset.info["mask_rule"] == "threshold128" and dataset.info["threshold"] == 128
    assert sequence.read_frame("bird_00019").shape == (H, W, 3)

    voided = load_segtrackv2(tmp_path, soft_as_void=True)[seq]
    assert voided.void_label == 255
    assert voided.read_annotation("bird_00018")[0, :5].tolist() == [1, 1, 255, 255, 0]


def test_segtrack_multi_object_overlap_goes_to_larger_soft_value(tmp_path):
    seq = "cheetah"
    _frame(tmp_path / "JPEGImages" / seq / "c_001.bmp")
    first = {(0, 0): 200, (0, 1): 200, (0, 2): 100, (0, 3): 100, (0, 4): 0}
    second = {(0, 0): 250, (0, 1): 200, (0, 2): 130, (0, 3): 0, (0, 4): 60}
    _rgb(tmp_path / "GroundTruth" / seq / "1" / "c_001.bmp", _soft(first))
    _rgb(tmp_path / "GroundTruth" / seq / "2" / "c_001.png", _soft(second))

    dataset = load_dataset("segtrack", tmp_path, soft_as_void=True)
    labels = dataset[seq].read_annotation("c_001")

    assert labels[0, :6].tolist() == [2, 1, 2, 255, 255, 0]
    assert dataset[seq].object_ids == (1, 2) and dataset.binary is False
    assert dataset[seq].attributes == {"object_folders": ["1", "2"]}
    assert dataset.problems == []


def test_segtrack_lists_define_sequences_and_frame_order(tmp_path):
    for stem in ("f_10", "f_2", "f_3"):
        _frame(tmp_path / "JPEGImages" / "worm" / f"{stem}.png")
        _rgb(tmp_path / "GroundTruth" / "worm" / f"{stem}.png", _soft({(2, 2): 255}))
    _write(tmp_path / "ImageSets" / "all.txt", "*worm\n*frog\n")
    _write(tmp_path / "ImageSets" / "worm.txt", "worm/\nf_2\nf_3.png\nf_10")

    dataset = load_segtrackv2(tmp_path)

    assert dataset.names == ["worm"]
    assert dataset["worm"].frames == ("f_2", "f_3", "f_10")
    assert [(p.kind, "'frog'" in p.message) for p in dataset.problems] == [("missing", True)]


def test_segtrack_object_without_mask_for_a_frame_is_reported(tmp_path):
    for stem in ("a", "b"):
        _frame(tmp_path / "JPEGImages" / "drift" / f"{stem}.png")
        _rgb(tmp_path / "GroundTruth" / "drift" / "1" / f"{stem}.png", _soft({(0, 0): 255}))
    _rgb(tmp_path / "GroundTruth" / "drift" / "2" / "a.png", _soft({(1, 1): 255}))

    dataset = load_segtrackv2(tmp_path)

    assert [(p.kind, p.path) for p in dataset.problems] == [
        ("missing", tmp_path / "GroundTruth" / "drift" / "2")
    ]
    assert dataset["drift"].read_annotation("b")[[0, 1], [0, 1]].tolist() == [1, 0]


def test_segtrack_sequences_survive_pickling(tmp_path):
    _rgb(tmp_path / "GroundTruth" / "girl" / "g1.png", _soft({(0, 0): 255}))
    sequence = load_segtrackv2(tmp_path, threshold=100)["girl"]

    clone = pickle.loads(pickle.dumps(sequence))

    assert np.array_equal(clone.read_annotation("g1"), sequence.read_annotation("g1"))


@pytest.mark.parametrize("options", [{"threshold": 0}, {"split": "train"}])
def test_segtrack_rejects_bad_options(tmp_path, options):
    _rgb(tmp_path / "GroundTruth" / "girl" / "g1.png", _soft({}))
    with pytest.raises(DatasetError) as error:
        load_segtrackv2(tmp_path, **options)
    assert error.value.kind == "config"


# ------------------------------------------------------------------------------------------
# folder datasets


def test_folder_with_images_and_annotations(tmp_path):
    for name in ("zeta", "alpha"):
        write_mask(tmp_path / "Annotations" / name / "00000.png", _labels(2))
        _frame(tmp_path / "JPEGImages" / name / "00000.JPG")
        _frame(tmp_path / "JPEGImages" / name / "00001.jpeg")

    dataset = load_dataset("folder", tmp_path)

    assert dataset.names == ["alpha", "zeta"]
    assert dataset["alpha"].frames == ("00000", "00001") and dataset["alpha"].annotated == (
        "00000",
    )
    assert dataset["alpha"].object_ids == (1, 2) and dataset["alpha"].void_label == 255


def test_folder_of_annotation_folders_only(tmp_path):
    write_mask(tmp_path / "b" / "00003.png", _labels(1))
    write_mask(tmp_path / "b" / "00004.png", _labels(1))
    write_mask(tmp_path / "a" / "00000.png", _labels(1))
    (tmp_path / "b" / "._00003.png").write_bytes(b"macOS resource fork")

    dataset = load_folder(tmp_path)

    assert dataset.names == ["a", "b"] and dataset["b"].frames == ("00003", "00004")
    assert dataset.info["annotation_folder"] == "."


def test_folder_single_sequence_layout_and_empty_root(tmp_path):
    write_mask(tmp_path / "judo" / "Annotations" / "00000.png", _labels(1))
    _frame(tmp_path / "judo" / "JPEGImages" / "00000.jpg")
    assert load_folder(tmp_path / "judo").names == ["judo"]
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="no sequences found"):
        load_folder(tmp_path / "nothing")


# ------------------------------------------------------------------------------------------
# validation


def test_validate_reports_every_problem_with_its_file(tmp_path):
    ann, img = tmp_path / "Annotations", tmp_path / "JPEGImages"
    # "good": clean.  "late": no first-frame mask, an orphan mask, a gap.
    write_mask(ann / "good" / "00000.png", _labels(1))
    _frame(img / "good" / "00000.jpg")
    for i in range(4):
        _frame(img / "late" / f"{i:05d}.jpg")
    write_mask(ann / "late" / "00001.png", _labels(1))
    write_mask(ann / "late" / "00003.png", _labels(1))
    write_mask(ann / "late" / "00009.png", _labels(1))
    # "sizes": mask smaller than its frame, a second mask of yet another size, an RGB mask.
    _frame(img / "sizes" / "00000.jpg")
    _frame(img / "sizes" / "00001.jpg")
    _frame(img / "sizes" / "00002.jpg")
    write_mask(ann / "sizes" / "00000.png", _labels(1))
    write_mask(ann / "sizes" / "00001.png", _labels(1, shape=(H, W - 1)))
    Image.new("RGB", (W, H), (128, 0, 0)).save(ann / "sizes" / "00002.png")
    # "empty": a folder with nothing in it.
    (ann / "empty").mkdir()

    problems = validate_dataset(load_folder(tmp_path))
    found = {(p.kind, p.path) for p in problems}

    assert found == {
        ("missing", ann / "late"),  # first frame 00000 unannotated
        ("missing", ann / "late" / "00009.png"),  # annotation without a frame
        ("missing", ann / "late"),  # gap: 00002 between 00001 and 00003
        ("size", ann / "sizes" / "00001.png"),  # differs from 00000 and from its frame
        ("format", ann / "sizes" / "00002.png"),  # RGB mask
        ("empty", ann / "empty"),
    }
    assert len(problems) == 7
    messages = " | ".join(p.message for p in problems)
    assert "'00000'" in messages and "00002" in messages and "15×12" in messages


def test_validate_empty_dataset(tmp_path):
    from vosbench.datasets import Dataset

    problems = validate_dataset(Dataset("folder", "all", "semi-supervised", [], tmp_path))
    assert [(p.kind, p.path) for p in problems] == [("empty", tmp_path)]


def test_validate_unreadable_mask_and_frame(tmp_path):
    write_mask(tmp_path / "Annotations" / "s" / "00000.png", _labels(1))
    _write(tmp_path / "Annotations" / "s" / "00001.png", "not a png")
    _write(tmp_path / "JPEGImages" / "s" / "00000.jpg", "not a jpeg")
    _frame(tmp_path / "JPEGImages" / "s" / "00001.jpg")

    problems = validate_dataset(load_folder(tmp_path))

    assert {(p.kind, p.path.name) for p in problems} == {
        ("unreadable", "00000.jpg"),
        ("unreadable", "00001.png"),
    }
    with pytest.raises(MaskFormatError):
        load_folder(tmp_path)["s"].read_annotation("00001")


# ------------------------------------------------------------------------------------------
# unsafe names: each would become a run folder the runner replaces or deletes


@pytest.mark.parametrize(
    "line, shown",
    [("..", "'..'"), (".", "'.'"), ("../../etc", "'..'"), ("bear\x00", "'bear\\x00'")],
)
def test_split_list_with_an_unsafe_name_is_refused_naming_file_and_line(tmp_path, line, shown):
    _davis_sequence(tmp_path, "bear", 1)
    _davis_sequence(tmp_path, "dog", 1)
    listing = _write(tmp_path / "ImageSets" / "2016" / "val.txt", f"bear\n\n{line}\ndog\n")

    with pytest.raises(DatasetError) as error:
        load_davis2016(tmp_path, "val")

    [problem] = error.value.problems
    assert problem.path == listing and problem.kind == "invalid"
    assert problem.message.startswith(f"line 3: sequence name {shown} ")


def test_pair_list_with_dot_folder_or_stem_reports_every_bad_line(tmp_path):
    _davis2016(tmp_path, {"bear": 2})
    listing = tmp_path / "ImageSets" / "480p" / "val.txt"
    bad = (
        "/JPEGImages/480p/../00000.jpg /Annotations/480p/../00000.png\n"
        "/JPEGImages/480p/bear/.. /Annotations/480p/bear/00000.png\n"
    )
    _write(listing, listing.read_text() + "\n" + bad)

    with pytest.raises(DatasetError) as error:
        load_davis2016(tmp_path, "val")

    messages = [(p.path, p.message) for p in error.value.problems]
    assert messages == [
        (listing, "line 3: sequence name '..' is the parent folder, not a sequence"),
        (listing, "line 4: frame name '..' is the parent folder, not a frame"),
    ]


def test_dataset_folder_with_a_control_character_in_a_name_is_refused(tmp_path):
    write_mask(tmp_path / "Annotations" / "good" / "00000.png", _labels(1))
    write_mask(tmp_path / "Annotations" / "bad\nname" / "00000.png", _labels(1))

    with pytest.raises(DatasetError) as error:
        load_folder(tmp_path)

    [problem] = error.value.problems
    assert problem.path == tmp_path / "Annotations" and problem.kind == "invalid"
    assert "'bad\\nname'" in problem.message and "rename it" in problem.message


def test_frame_file_with_edge_whitespace_is_refused(tmp_path):
    write_mask(tmp_path / "Annotations" / "s" / "00000.png", _labels(1))
    write_mask(tmp_path / "Annotations" / "s" / "00001 .png", _labels(1))
    (tmp_path / "Annotations" / "s" / "notes\n.txt").write_text("not indexed, so harmless")

    with pytest.raises(DatasetError, match=r"frame name '00001 ' in this folder starts or ends"):
        load_folder(tmp_path)


def test_single_sequence_folder_given_as_dot_is_named_after_it(tmp_path, monkeypatch):
    write_mask(tmp_path / "judo" / "Annotations" / "00000.png", _labels(1))
    monkeypatch.chdir(tmp_path / "judo")
    assert load_folder(".").names == ["judo"]  # not "", which would be the masks folder itself


def test_segtrack_lists_with_unsafe_names_are_refused(tmp_path):
    _rgb(tmp_path / "GroundTruth" / "worm" / "f_1.png", _soft({(2, 2): 255}))
    frames = _write(tmp_path / "ImageSets" / "worm.txt", "worm/\nf_1\n../..\n")
    with pytest.raises(DatasetError) as error:
        load_segtrackv2(tmp_path)
    assert [(p.path, p.message[:8]) for p in error.value.problems] == [(frames, "line 3: ")]

    listing = _write(tmp_path / "ImageSets" / "all.txt", "*worm\n*..\n")
    with pytest.raises(DatasetError) as error:
        load_segtrackv2(tmp_path)
    assert [(p.path, p.message[:26]) for p in error.value.problems] == [
        (listing, "line 2: sequence name '..'")
    ]


def test_synthetic_split_list_with_unsafe_name_is_refused(tmp_path):
    from vosbench.datasets.synthetic import load_synthetic

    listing = _write(tmp_path / "ImageSets" / "2017" / "val.txt", "synth-val-000\n..\n")
    with pytest.raises(DatasetError) as error:
        load_synthetic(tmp_path, "val")
    assert [(p.path, p.message[:26]) for p in error.value.problems] == [
        (listing, "line 2: sequence name '..'")
    ]


def test_validate_command_reports_a_dot_dot_list_and_exits_1(tmp_path, capsys):
    from vosbench.cli import main

    _davis_sequence(tmp_path, "bear", 1)
    listing = _write(tmp_path / "ImageSets" / "2016" / "val.txt", "bear\n..\n")

    code = main(["validate", "--dataset", "davis2016", "--root", str(tmp_path), "--split", "val"])

    err = capsys.readouterr().err
    assert code == 1 and f"{listing}: line 2: sequence name '..'" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------
# a split list naming sequences absent on disk: an error unless allowed or narrowed


def _partial_davis2016(root: Path) -> Path:
    """A train list of three sequences of which only "present" is on disk."""
    _davis_sequence(root, "present", 2)
    names = {"absent-but-listed": 3, "present": 2, "other-absent": 1}
    return _write(root / "ImageSets" / "480p" / "train.txt", _pair_lines(names) + "\n")


def test_partial_split_is_an_error_naming_the_missing_sequences(tmp_path):
    _partial_davis2016(tmp_path)

    with pytest.raises(DatasetError) as error:
        load_dataset("davis2016", tmp_path, "train")

    [problem] = error.value.problems
    assert problem.kind == "missing" and problem.path == tmp_path
    assert problem.message == (
        "2 of 3 sequences of davis2016/train listed in ImageSets/480p/train.txt are missing "
        "under Annotations/480p or JPEGImages/480p: absent-but-listed, other-absent; pass "
        "allow_missing=True (--allow-missing) to score the 1 present, or choose with "
        "sequences=[...] (--sequences)"
    )


def test_partial_split_loads_what_is_present_when_allowed(tmp_path):
    _partial_davis2016(tmp_path)

    dataset = load_dataset("davis2016", tmp_path, "train", allow_missing=True)

    assert dataset.names == ["present"] and len(dataset["present"]) == 2
    assert dataset.listed == ("absent-but-listed", "present", "other-absent")
    assert dataset.missing == ["absent-but-listed", "other-absent"]
    assert [p.path.name for p in dataset.problems] == ["absent-but-listed", "other-absent"]


def test_sequences_narrow_a_partial_split_to_present_ones(tmp_path):
    _partial_davis2016(tmp_path)

    dataset = load_dataset("davis2016", tmp_path, "train", sequences=["present"])

    assert dataset.names == ["present"] and len(dataset.listed) == 3
    assert dataset.missing == ["absent-but-listed", "other-absent"]


def test_choosing_a_listed_sequence_missing_on_disk_is_an_error(tmp_path):
    _partial_davis2016(tmp_path)

    with pytest.raises(DatasetError) as error:
        load_dataset("davis2016", tmp_path, "train", sequences=["present", "absent-but-listed"])
    [problem] = error.value.problems
    assert problem.path == tmp_path / "Annotations" / "480p" / "absent-but-listed"
    assert "'absent-but-listed' of davis2016/train is missing" in problem.message

    with pytest.raises(DatasetError, match="'presnt' is not in davis2016/train; did you mean"):
        load_dataset("davis2016", tmp_path, "train", sequences=["presnt"], allow_missing=True)


def test_select_keeps_the_listed_names(tmp_path):
    _davis2016(tmp_path, {"b": 2, "a": 3})
    dataset = load_dataset("davis2016", tmp_path, "val")

    assert dataset.listed == ("b", "a") and dataset.missing == []
    assert dataset.select(["a"]).listed == ("b", "a")


def test_listed_defaults_to_the_loaded_names(tmp_path):
    from vosbench.datasets import Dataset
    from vosbench.datasets.synthetic import PRESETS, synthetic_dataset

    write_mask(tmp_path / "b" / "00000.png", _labels(1))
    write_mask(tmp_path / "a" / "00000.png", _labels(1))
    assert load_folder(tmp_path).listed == ("a", "b")
    generated = synthetic_dataset(PRESETS["small"], "val")
    assert generated.listed == tuple(generated.names) and generated.missing == []
    assert Dataset("folder", "all", "semi-supervised", []).listed == ()


def test_segtrack_and_synthetic_lists_set_listed(tmp_path):
    _rgb(tmp_path / "st" / "GroundTruth" / "worm" / "f_1.png", _soft({(2, 2): 255}))
    _write(tmp_path / "st" / "ImageSets" / "all.txt", "*worm\n*frog\n")
    with pytest.raises(
        DatasetError, match="1 of 2 sequences of segtrackv2/all are missing under GroundTruth: frog"
    ):
        load_dataset("segtrackv2", tmp_path / "st")
    segtrack = load_dataset("segtrackv2", tmp_path / "st", allow_missing=True)
    assert segtrack.listed == ("worm", "frog") and segtrack.missing == ["frog"]

    from vosbench.datasets.synthetic import write_synthetic

    root = write_synthetic(tmp_path / "synth", "small")
    listing = root / "ImageSets" / "2017" / "val.txt"
    names = listing.read_text().split()
    listing.write_text("\n".join(names + ["synth-val-999"]) + "\n")
    with pytest.raises(
        DatasetError,
        match=f"1 of {len(names) + 1} sequences of synthetic/val are "
        "missing under Annotations/480p: synth-val-999",
    ):
        load_dataset("synthetic", root)
    synthetic = load_dataset("synthetic", root, allow_missing=True)
    assert synthetic.missing == ["synth-val-999"] and synthetic.names == names


def test_validate_command_refuses_a_partial_split(tmp_path, capsys):
    from vosbench.cli import main

    _partial_davis2016(tmp_path)

    code = main(["validate", "--dataset", "davis2016", "--root", str(tmp_path), "--split", "train"])

    err = capsys.readouterr().err
    assert code == 1 and "2 of 3 sequences of davis2016/train" in err and "other-absent" in err


# ------------------------------------------------------------------------------------------
# real data ($VOSBENCH_DATA)


@pytest.mark.real_data
def test_real_davis2016_val(davis2016_root):
    dataset = load_dataset("davis2016", davis2016_root, "val")

    assert len(dataset) == 20 and sum(len(s) for s in dataset) == 1376
    assert dataset.names[0] == "blackswan" and len(dataset["blackswan"]) == 50
    assert dataset.problems == []
    bmx = dataset["bmx-trees"].attributes
    assert "LR" in bmx["attributes"] and bmx["eval_t"] is False and bmx["num_frames"] == 80
    assert dataset["blackswan"].attributes == {"attributes": [], "eval_t": True, "num_frames": 50}
    assert dataset["blackswan"].size == (480, 854)


@pytest.mark.real_data
def test_real_davis2016_train_reports_missing_sequences(davis2016_root):
    dataset = load_davis2016(davis2016_root, "train")

    assert dataset.names == ["bear", "dog-agility", "tennis"]
    assert len(dataset.problems) == 27 and {p.kind for p in dataset.problems} == {"missing"}
    assert any("'bmx-bumps'" in p.message for p in dataset.problems)
    labels = dataset["bear"].read_annotation("00077")  # the grey+alpha file
    assert labels.shape == (480, 854) and set(np.unique(labels)) == {0, 1}
    assert validate_dataset(dataset) == dataset.problems  # the three present sequences are clean


@pytest.mark.real_data
def test_real_davis2016_train_is_an_error_unless_allowed(davis2016_root):
    with pytest.raises(DatasetError) as error:
        load_dataset("davis2016", davis2016_root, "train")
    message = str(error.value)
    assert "27 of 30 sequences of davis2016/train listed in ImageSets/480p/train.txt" in message
    assert "bmx-bumps, boat, breakdance-flare, bus, car-turn, …" in message
    assert "score the 3 present" in message and "bear" not in message.split("allow_missing")[0]

    dataset = load_dataset("davis2016", davis2016_root, "train", allow_missing=True)
    assert dataset.names == ["bear", "dog-agility", "tennis"] and len(dataset.listed) == 30
    assert len(dataset.missing) == 27 and "bmx-bumps" in dataset.missing
    narrowed = load_dataset("davis2016", davis2016_root, "train", sequences=["tennis"])
    assert narrowed.names == ["tennis"]


@pytest.mark.real_data
def test_real_segtrackv2_bmx(real_data):
    dataset = load_dataset("segtrackv2", real_data / "SegTrackv2")
    bmx = dataset["bmx"]

    assert len(bmx) == 36 and bmx.frames[0] == "bmx_06668" and bmx.frames[-1] == "bmx_06703"
    assert bmx.size == (360, 640) and bmx.object_ids == (1,) and dataset.binary is True
    assert set(np.unique(bmx.read_annotation("bmx_06668"))) == {0, 1}
    assert bmx.read_frame("bmx_06668").shape == (360, 640, 3)


@pytest.mark.real_data
def test_real_davis2017_samples_void(real_data, tmp_path):
    samples = real_data / "DAVIS-2017-samples"
    if not samples.is_dir():
        pytest.skip(f"real data not available: {samples} is missing")
    for folder in ("JPEGImages", "Annotations"):  # link, never copy: the data is CC BY-NC
        (tmp_path / folder).symlink_to(samples / folder, target_is_directory=True)
    _write(tmp_path / "ImageSets" / "2017" / "val.txt", "tennis\nblackswan\n")

    dataset = load_davis2017(tmp_path, "val")
    tennis = dataset["tennis"]

    assert set(np.unique(tennis.read_annotation("00000"))) == {0, 1, 2, 255}
    assert tennis.object_ids == (1, 2)
    assert len(dataset["blackswan"]) == 6 and dataset["blackswan"].frame_path("00000") is None


@pytest.mark.real_data
def test_real_judo_size_mismatch(real_data):
    judo = real_data / "quirks" / "judo"
    if not judo.is_dir():
        pytest.skip(f"real data not available: {judo} is missing")

    problems = validate_dataset(load_folder(judo))
    sizes = [p for p in problems if p.kind == "size"]

    assert {p.path for p in sizes} == {judo / "Annotations" / "00005.png"}
    assert any("853×480" in p.message and "854×480" in p.message for p in sizes)
