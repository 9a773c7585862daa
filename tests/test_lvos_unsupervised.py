"""LVOS's unsupervised tasks (``unsupervised``, the official ``unsupervised_multiple``, and
``unsupervised-single``) against the official evaluator's recorded numbers (tests/golden/lvos,
recorded by tools/parity/lvos_golden.py from lvos-evaluation on lvos_cases.build_unsupervised's
data), each LVOS rule shown to matter, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from lvos_cases import SINGLE_LIST, SPLIT, build_unsupervised, golden, same

from vosbench.benchmarks.lvos import LVOSRules, salient_mask, variance_measure
from vosbench.benchmarks.rules import BenchmarkRules, ScoredObject
from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.errors import DatasetError, EvaluationError, MaskFormatError
from vosbench.io import read_mask, write_mask
from vosbench.metrics import Protocol, evaluate

OFFICIAL_COMMIT = "25cb02d1455b5d0c964a9836ff5242fb51df55ee"
CASES = {  # golden record → (task, predictions, protocol options)
    "unsup-multiple": ("unsupervised", "multiple", {}),
    "unsup-multiple-extra": ("unsupervised", "multiple-extra", {"extra_ids": "ignore"}),
    "unsup-single": ("unsupervised-single", "single", {}),
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build_unsupervised(tmp_path_factory.mktemp("lvos-unsup"))


def score(cases, name: str, rules=None, **options):
    gt, folders = cases
    task, folder, case_options = CASES[name]
    dataset = load_dataset("lvos", gt, SPLIT, task=task)
    protocol = Protocol.for_dataset(dataset, decay_mode="compat", **{**case_options, **options})
    return evaluate(dataset, folders[folder], protocol, workers=1, rules=rules)


def per_object(result) -> list[tuple[float, float, float]]:
    return [(o.j_stats.mean, o.f_stats.mean, variance_measure(o.j, o.f)) for o in result.objects]


@pytest.mark.parametrize("name", list(CASES))
def test_matches_the_official_evaluator(cases, name):
    expected = golden(name)
    assert expected["official_commit"] == OFFICIAL_COMMIT
    result = score(cases, name)
    assert [o.name for o in result.objects] == expected["objects"]
    for i, o in enumerate(result.objects):
        js, fs = o.j_stats, o.f_stats
        assert same(js.mean, expected["J"][i]) and same(fs.mean, expected["F"][i]), o.name
        assert same(js.recall, expected["J_recall"][i]), o.name
        assert same(fs.recall, expected["F_recall"][i]), o.name
        assert js.decay == expected["J_decay"][i] == 0.0 == fs.decay == expected["F_decay"][i]
        assert same(variance_measure(o.j, o.f), expected["V"][i]), o.name
    metrics = result.global_metrics()
    for key, value in expected["global"].items():
        assert same(metrics[key], value), key
    for file_name, text in result.rules.official_outputs(result).values():
        assert text == expected["csv"][file_name], file_name


def test_the_cases_cover_the_quirks(cases):
    """What the golden numbers hold, in vosbench's terms (so a case that stops exercising a rule
    is noticed)."""
    multiple = {(o.sequence, o.object_id): o for o in score(cases, "unsup-multiple").objects}
    # rows are the matched pairs in proposal order, not the meta file's objects
    assert [o.object_id for o in score(cases, "unsup-multiple").objects][:3] == [2, 1, 3]
    assert multiple["case-000", 2].proposal_id == 3  # half of a split object wins
    assert multiple["case-001", 5].proposal_id == 2  # no proposal: an empty one
    assert multiple["case-002", 1].proposal_id == 3  # an absent id beats proposal 2
    assert multiple["case-003", 6].j.tolist() == [0.0]  # a one-frame range: unread, 0
    short = multiple["case-003", 4]
    assert short.frames == ("00000040", "00000045") and short.j[-1] == short.f[-1] == 0.0
    long = multiple["long-000", 1]
    assert len(long.frames) == 267 and long.frames[0] == "00000000"
    single = score(cases, "unsup-single")
    assert list(dict.fromkeys(o.sequence for o in single.objects)) == [
        n for n in SINGLE_LIST if n != "ghost-000"
    ]  # the list's order; a video the meta file lacks is left out
    assert {o.group for o in single.objects} == {"seen", "unseen"}
    assert all(o.j_stats.mean == 0 for o in single.objects if o.sequence == "case-003")
    assert "case-003: every evaluated prediction is empty" in single.warnings


class _DavisRows(LVOSRules):
    def proposal_rows(self, top_id, objects, protocol):
        return BenchmarkRules.proposal_rows(self, top_id, objects, protocol)


class _VoidExcluded(LVOSRules):
    unsupervised_void = "exclude"


class _NoUnread(LVOSRules):
    def scored_objects(self, sequence, protocol):
        return [
            ScoredObject(o.object_id, o.read_frames, o.group)
            for o in super().scored_objects(sequence, protocol)
            if o.read_frames
        ]


def by_object(result) -> dict[tuple[str, int], tuple[float, float, float]]:
    return dict(zip(((o.sequence, o.object_id) for o in result.objects), per_object(result)))


@pytest.mark.parametrize(
    "rules, changed",
    [
        # DAVIS weighs max(top id, objects) proposals: case-002's object 1 must take proposal 2
        (_DavisRows(), {("case-002", 1)}),
        # void excluded, not background: the proposals of case-000 lose the band's pixels
        (_VoidExcluded(), {("case-000", 1), ("case-000", 2), ("case-000", 3)}),
    ],
)
def test_each_rule_changes_the_numbers(cases, rules, changed):
    official = by_object(score(cases, "unsup-multiple"))
    other = by_object(score(cases, "unsup-multiple", rules=rules))
    assert official.keys() == other.keys()
    assert {key for key in official if official[key] != other[key]} == changed


def test_the_unread_last_frame_counts(cases):
    official = score(cases, "unsup-multiple")
    read_only = by_object(score(cases, "unsup-multiple", rules=_NoUnread()))
    for o in official.objects:
        if o.j_stats.mean == 0:
            continue
        n = len(o.frames)
        j, f, _ = read_only[o.sequence, o.object_id]  # the same match: the scale is per object
        assert o.j_stats.mean == pytest.approx(j * (n - 1) / n, abs=1e-12), o.name
        assert o.f_stats.mean == pytest.approx(f * (n - 1) / n, abs=1e-12), o.name
    assert ("case-003", 6) not in read_only  # a one-frame range has nothing to read


def test_extra_proposal_ids_are_an_error_by_default(cases, capsys):
    gt, folders = cases
    args = ["eval", str(folders["multiple-extra"]), "--dataset", "lvos", "--root", str(gt)]
    code = main([*args, "--task", "unsupervised", "-j", "1", "-o", str(gt.parent / "o1")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "case-000/00000000.png" in err and "label 255" in err
    assert "--extra-ids ignore drops them" in err
    assert main([*args, "--task", "unsupervised", "-j", "1", "-o", str(gt.parent / "o2"), "-q",
                 "--extra-ids", "ignore"]) == 0  # fmt: skip
    assert "proposal ids above 20 were dropped" in capsys.readouterr().err
    name = f"global_results-{SPLIT}.csv"
    assert (gt.parent / "o2" / name).read_text() == golden("unsup-multiple")["csv"][name]


def test_cli_writes_the_official_files(cases, tmp_path, capsys):
    gt, folders = cases
    out = tmp_path / "out"
    args = ["eval", str(folders["single"]), "--dataset", "lvos", "--root", str(gt), "-j", "2"]
    assert main([*args, "--task", "unsupervised-single", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "unsupervised-single" in captured.err and "the last counted as 0 unread" in captured.err
    for file_name, text in golden("unsup-single")["csv"].items():
        assert (out / file_name).read_text() == text


def test_a_bad_foreground_mask_is_named(cases, tmp_path, capsys):
    gt, folders = cases
    bad = tmp_path / "single"
    shutil.copytree(folders["single"], bad)
    path = bad / "case-000" / "00000010.png"
    labels = read_mask(path).copy()
    labels[labels == 255] = 2
    write_mask(path, labels)
    args = ["eval", str(bad), "--dataset", "lvos", "--root", str(gt), "-j", "1"]
    assert main([*args, "--task", "unsupervised-single", "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "case-000/00000010.png" in err
    assert "foreground mask of the values [0, 2]" in err


def test_salient_mask_follows_the_official_rule():
    grey = np.array([[0, 126, 127], [128, 200, 255]], np.uint8)
    assert salient_mask(grey).tolist() == [[False, False, True], [True, True, True]]
    ids = np.array([[0, 1, 2]], np.uint8)  # an id map of two objects: more than two values
    assert not salient_mask(ids).any()
    assert salient_mask(np.array([[0, 1]], np.uint8)).tolist() == [[False, True]]
    assert salient_mask(np.array([[0, 255]], np.uint8)).tolist() == [[False, True]]
    for value, fill in ((0, False), (1, True), (255, True)):
        assert (salient_mask(np.full((2, 2), value, np.uint8)) == fill).all()
    for values in ([[0, 2]], [[1, 255]], [[7, 7]]):
        with pytest.raises(MaskFormatError, match="LVOS's unsupervised-single task"):
            salient_mask(np.array(values, np.uint8), Path("x.png"))


def test_task_errors(cases, tmp_path, capsys):
    gt, _ = cases
    with pytest.raises(DatasetError, match="the semi-supervised rule needs 3"):
        load_dataset("lvos", gt, SPLIT)  # case-003's short ranges
    assert main(["validate", "--dataset", "davis2017", "--root", str(gt), "--task",
                 "unsupervised-single"]) == 1  # fmt: skip
    assert "has no 'unsupervised-single' task" in capsys.readouterr().err
    listed = gt / SPLIT / "unsupervised_videos.txt"
    twice, none = tmp_path / "twice.txt", tmp_path / "none.txt"
    twice.write_text("case-000\ncase-002\ncase-000\n")
    with pytest.raises(DatasetError, match=r"line 3: video 'case-000' listed again \(line 1\)"):
        load_dataset("lvos", gt, SPLIT, task="unsupervised-single", unsupervised=twice)
    none.write_text("ghost-000\n")
    with pytest.raises(DatasetError, match="none of its 1 videos is in valid_meta.json"):
        load_dataset("lvos", gt, SPLIT, task="unsupervised-single", unsupervised=none)
    saved = listed.read_text()
    listed.unlink()
    try:
        with pytest.raises(DatasetError, match="unsupervised_videos.txt not found: the list"):
            load_dataset("lvos", gt, SPLIT, task="unsupervised-single")
        assert load_dataset("lvos", gt, SPLIT, task="unsupervised").names[-1] == "long-000"
    finally:
        listed.write_text(saved)


def test_more_objects_than_proposal_rows(tmp_path, capsys):
    """The official matrix has 20 proposal rows; a video of 21 objects fails there (IndexError):
    here a message naming the video."""
    root = tmp_path / "lvos"
    assert main(["synth", str(root), "--preset", "small", "--layout", "lvos"]) == 0
    folder = root / SPLIT
    meta_path = folder / f"{SPLIT}_meta.json"
    meta = json.loads(meta_path.read_text())
    video = next(iter(meta["videos"]))
    stems = sorted(p.stem for p in (folder / "Annotations" / video).iterdir())[:3]
    for stem in stems:
        labels = np.zeros_like(read_mask(folder / "Annotations" / video / f"{stem}.png"))
        for k in range(21):
            labels[k % 4 * 4 : k % 4 * 4 + 3, k // 4 * 6 : k // 4 * 6 + 5] = k + 1
        write_mask(folder / "Annotations" / video / f"{stem}.png", labels)
    frame_range = {"start": stems[0], "end": stems[-1], "frame_nums": 3}
    meta["videos"] = {
        video: {"objects": {str(k): {"frame_range": frame_range} for k in range(1, 22)}}
    }
    meta_path.write_text(json.dumps(meta))
    pred = tmp_path / "pred"
    for stem in stems:  # 20 proposals, one per object but the last
        labels = read_mask(folder / "Annotations" / video / f"{stem}.png")
        write_mask(pred / video / f"{stem}.png", np.where(labels > 20, 0, labels))
    args = ["eval", str(pred), "--dataset", "lvos", "--root", str(root), "--task", "unsupervised"]
    assert main([*args, "-j", "1", "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"sequence {video!r} has 21 objects" in err and "weighs 20 proposals" in err


def test_extra_ids_policy_in_the_davis_unsupervised_task(tmp_path):
    """``extra_ids="ignore"`` drops proposals above the limit there too (non-official)."""
    from test_eval import unsupervised_dataset

    root = unsupervised_dataset(tmp_path, [3, 1, 2], extra_proposals=18)  # ids up to 21
    dataset = load_dataset("davis2017", root, task="unsupervised")
    with pytest.raises(EvaluationError, match="21 proposals"):
        evaluate(dataset, tmp_path / "pred", workers=1)
    protocol = Protocol.for_dataset(dataset, extra_ids="ignore")
    result = evaluate(dataset, tmp_path / "pred", protocol, workers=1)
    assert result.global_metrics()["J-Mean"] == 1.0 and not protocol.official
    assert any("proposal ids above 20 were dropped" in w for w in result.warnings)


@pytest.mark.parametrize("task", ["unsupervised", "unsupervised-single"])
def test_a_range_of_one_frame_reads_nothing_and_scores_zero(tmp_path, task):
    root = tmp_path / "lvos"
    assert main(["synth", str(root), "--preset", "small", "--layout", "lvos"]) == 0
    meta_path = root / SPLIT / f"{SPLIT}_meta.json"
    meta = json.loads(meta_path.read_text())
    video = next(iter(meta["videos"]))
    one = {"frame_range": {"start": "00000005", "end": "00000005", "frame_nums": 1}}
    meta["videos"] = {video: {"objects": {"1": one}}}
    meta_path.write_text(json.dumps(meta))
    dataset = load_dataset("lvos", root, task=task)
    (tmp_path / "pred").mkdir()  # no frame is read: no prediction file is needed
    result = evaluate(dataset, tmp_path / "pred", workers=1)
    [obj] = result.objects
    assert obj.frames == ("00000005",) and obj.j.tolist() == obj.f.tolist() == [0.0]
    assert result.warnings == [] and result.global_metrics()["J-seen-Mean"] == 0.0
