"""Released weights: cards, download (resume, Drive, mirror, checksum, offline), cache, conversion.

No test reaches the network: stand-in files are served from 127.0.0.1 (tests/weights_server.py)
and every fetch goes through a mirror or a local Source.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import torch
from spec_keys import spec_keys
from weights_server import WeightsServer

import vosbench.weights.fetch as fetch_module
from vosbench.cli import main
from vosbench.errors import ConfigError, UnknownNameError
from vosbench.runner.checkpoint import CHECKPOINT_FORMAT, COUNTER
from vosbench.runner.methods import method_card
from vosbench.weights import (
    Reference,
    Source,
    WeightCard,
    WeightsCache,
    WeightsUnavailableError,
    cache_root,
    fetch_weights,
    official_tag,
    resolve_weights,
    weight_card,
    weight_cards,
)
from vosbench.weights.cards import METRICS, SPEED_METRICS
from vosbench.weights.download import (
    Downloader,
    DownloadError,
    confirmation_url,
    direct_url,
    folder_listing_url,
    mirror_url,
)

TAGS = {
    "rgmp:davis",
    "ranet:video-single",
    "ranet:video-multi",
    "ranet:image-single",
    "cosnet:davis",
    "cosnet:deeplab-init",
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _find(card: WeightCard, benchmark: str, metric: str, source: str) -> Reference:
    found = [
        r
        for r in card.references
        if r.benchmark == benchmark and r.metric == metric and r.source == source
    ]
    assert len(found) == 1, (card.tag, benchmark, metric, source, found)
    return found[0]


# -- cards -------------------------------------------------------------------------------------


def test_every_released_checkpoint_has_a_card_with_well_formed_urls():
    cards = weight_cards()
    assert set(cards) == TAGS
    for tag, card in cards.items():
        assert card.tag == tag and card in method_card(card.method).weights
        assert card.sources and card.file and card.summary and card.format
        assert card.sha256 == "" or len(card.sha256) == 64  # none is published: never invented
        for source in card.sources:
            parts = urlsplit(source.url)
            assert parts.scheme == "https" and parts.hostname and " " not in source.url
            assert source.kind in ("dropbox", "gdrive", "gdrive-folder", "baidu")
        for reference in card.references:
            assert reference.metric in METRICS + SPEED_METRICS and reference.source
            assert reference.is_speed or 0 < reference.value < 1
    assert {s.access_code for s in cards["cosnet:davis"].sources} == {"", "xwup"}
    assert cards["ranet:video-multi"].sources[0].kind == "gdrive-folder"


def test_reference_numbers_and_their_sources():
    rgmp, single, multi = weight_card("rgmp:davis"), weight_card("ranet:video-single"), None
    multi = weight_card("ranet:video-multi")
    assert _find(rgmp, "davis2016/val", "J-Mean", "paper").value == 0.815
    assert _find(rgmp, "davis2016/val", "F-Mean", "paper").value == 0.820
    assert (
        round(_find(rgmp, "davis2017/val", "J&F-Mean", "DAVIS-2017 leaderboard").value, 3) == 0.667
    )
    plus = _find(single, "davis2016/val", "J-Mean", "DAVIS-2016 leaderboard")
    assert plus.value == 0.866 and "online fine-tuning" in plus.conditions
    assert _find(single, "davis2016/val", "F-Mean", "DAVIS-2016 leaderboard").value == 0.876
    assert _find(single, "davis2016/val", "J-Mean", "paper").value == 0.855
    assert _find(multi, "davis2017/val", "J&F-Mean", "paper").value == 0.657
    cosnet = weight_card("cosnet:davis")
    j = _find(cosnet, "davis2016/val", "J-Mean", "DAVIS-2016 leaderboard")
    assert j.value == 0.805 and "CRF" in j.conditions
    assert _find(cosnet, "davis2016/val", "F-Mean", "DAVIS-2016 leaderboard").value == 0.795
    assert _find(cosnet, "davis2016/val", "T-Mean", "DAVIS-2016 leaderboard").value == 0.184
    group = method_card("cosnet").reference
    assert [r.value for r in group] == [0.811] and "group" in group[0].conditions
    record = json.loads(json.dumps(method_card("rgmp").as_record()))  # JSON-ready
    assert record["weights"][0]["references"][0] == {
        "benchmark": "davis2016/val",
        "metric": "J-Mean",
        "value": 0.815,
        "source": "paper",
        "conditions": "",
    }


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tag": "RGMP:davis"}, "lower case"),
        ({"tag": "ranet:davis"}, "must start with its method"),
        ({"file": "../weights.pth"}, "plain file name"),
        ({"sha256": "abc"}, "64 lower-case hex"),
        ({"sources": ()}, "no source"),
    ],
)
def test_weight_cards_refuse_malformed_fields(kwargs, message):
    base = dict(
        tag="rgmp:x",
        method="rgmp",
        file="w.pth",
        sources=(Source("https://example.org/w.pth"),),
        summary="s",
    )
    with pytest.raises(ValueError, match=message):
        WeightCard(**{**base, **kwargs})


def test_sources_and_references_validate():
    with pytest.raises(ValueError, match="not an http"):
        Source("ftp://example.org/w.pth")
    with pytest.raises(ValueError, match="no Google Drive id"):
        Source("https://drive.google.com/open")
    with pytest.raises(ValueError, match="0.815"):
        Reference("davis2016/val", "J-Mean", 81.5, "paper")
    with pytest.raises(ValueError, match="use one of"):
        Reference("davis2016/val", "J mean", 0.8, "paper")
    assert Reference("davis2016/val", "ms/frame", 33, "paper").describe() == (
        "davis2016/val ms/frame 33 (paper)"
    )


def test_urls_become_direct_links():
    rgmp = weight_card("rgmp:davis").sources[0]
    assert direct_url(rgmp) == "https://www.dropbox.com/s/gt0kivrb2hlavi2/weights.pth?dl=1"
    drive = direct_url(weight_card("cosnet:davis").sources[0])
    parts = urlsplit(drive)
    assert parts.hostname == "drive.usercontent.google.com" and parts.path == "/download"
    assert parse_qs(parts.query) == {
        "id": ["14ya3ZkneeHsegCgDrvkuFtGoAfVRgErz"],
        "export": ["download"],
    }
    folder = folder_listing_url(weight_card("ranet:video-single").sources[0])
    assert (
        folder == "https://drive.google.com/embeddedfolderview?id=1EwvDQiXAKAys_KVLTX5VRu8HggYiiUnl"
    )
    assert (
        mirror_url("https://m.example/vos/", "weights.pth") == "https://m.example/vos/weights.pth"
    )
    assert mirror_url("/srv/w", "a b.pth") == "file:///srv/w/a%20b.pth"


def test_official_tags_follow_the_dataset():
    assert official_tag("rgmp", "davis2017") == "rgmp:davis"
    assert official_tag("ranet", "davis2016") == "ranet:video-single"
    assert official_tag("ranet", "davis2017") == "ranet:video-multi"
    assert official_tag("ranet", "synthetic") == "ranet:video-single"
    assert official_tag("cosnet") == "cosnet:davis"  # never the encoder-only initialisation
    with pytest.raises(UnknownNameError, match="did you mean 'rgmp:davis'"):
        weight_card("rgmp:davs")


def test_cache_root_follows_the_environment(tmp_path):
    assert cache_root({"VOSBENCH_HOME": str(tmp_path)}) == tmp_path
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "vosbench"
    assert cache_root({}) == Path("~/.cache/vosbench").expanduser()


# -- the downloader against the local server ----------------------------------------------------

BLOB = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def server():
    with WeightsServer() as running:
        running.state.files["blob.bin"] = BLOB
        yield running


def _downloader(**kwargs) -> Downloader:
    return Downloader(max_bytes=kwargs.pop("max_bytes", 10 * len(BLOB)), timeout=10, **kwargs)


def test_a_dropped_transfer_resumes_with_range(server, tmp_path):
    server.state.drop_after["blob.bin"] = [300_000, 200_000]
    part = tmp_path / "blob.bin.part"
    _downloader().fetch_url(server.url("/files/blob.bin"), part)
    assert part.read_bytes() == BLOB
    assert [r for _, r in server.requests("/files/")] == ["", "bytes=300000-", "bytes=500000-"]


def test_a_partial_file_resumes_in_a_later_call(server, tmp_path):
    part = tmp_path / "blob.bin.part"
    server.state.drop_after["blob.bin"] = [400_000, 0, 0, 0]
    with pytest.raises(DownloadError, match="dropped 4 times.*kept in"):
        _downloader(retries=3).fetch_url(server.url("/files/blob.bin"), part)
    assert part.stat().st_size == 400_000
    _downloader().fetch_url(server.url("/files/blob.bin"), part)
    assert part.read_bytes() == BLOB and server.requests()[-1][1] == "bytes=400000-"


def test_a_server_ignoring_range_restarts_cleanly(server, tmp_path):
    part = tmp_path / "blob.bin.part"
    server.state.drop_after["blob.bin"] = [123_456]
    server.state.ignore_range = True
    _downloader().fetch_url(server.url("/files/blob.bin"), part)
    assert part.read_bytes() == BLOB  # the whole body again, not appended to the first bytes


def test_drive_confirmation_page_is_followed(server, tmp_path):
    source = Source(server.url("/drive/blob.bin"), kind="gdrive")
    part = tmp_path / "blob.bin.part"
    final = _downloader().fetch(source, "blob.bin", part)
    assert part.read_bytes() == BLOB and "confirm=t" in final and "uuid=u-123" in final
    assert [p.split("?")[0] for p, _ in server.requests()] == ["/drive/blob.bin"] * 2


def test_drive_style_warning_pages_parse():
    # the older docs.google.com page
    page = '<a href="/uc?export=download&amp;confirm=AbC1&amp;id=XYZ">Download anyway</a>'
    assert confirmation_url(page, "https://docs.google.com/uc?id=XYZ") == (
        "https://docs.google.com/uc?export=download&confirm=AbC1&id=XYZ"
    )
    assert confirmation_url("<html><form action='/x'></form></html>", "https://a/") is None


def test_a_drive_folder_is_searched_by_file_name(server, tmp_path):
    server.state.files["other.pth"] = b"not this one"
    source = Source(server.url("/folder"), kind="gdrive-folder")
    part = tmp_path / "blob.bin.part"
    _downloader().fetch(source, "blob.bin", part)
    assert part.read_bytes() == BLOB
    with pytest.raises(DownloadError, match="lists no file named missing.pth"):
        _downloader().fetch(source, "missing.pth", tmp_path / "m.part")


def test_an_html_page_is_never_taken_for_the_file(server, tmp_path):
    with pytest.raises(DownloadError, match=r"web page \(Sign in\), not the file"):
        _downloader().fetch_url(server.url("/login"), tmp_path / "x.part")
    assert not (tmp_path / "x.part").exists()


def test_sizes_are_bounded(server, tmp_path):
    with pytest.raises(DownloadError, match="announces 1,048,576 bytes"):
        _downloader(max_bytes=1000).fetch_url(server.url("/files/blob.bin"), tmp_path / "b.part")
    with pytest.raises(DownloadError, match="HTTP 404"):
        _downloader().fetch_url(server.url("/files/none.bin"), tmp_path / "n.part")


# -- fetch: mirror, checksum, conversion, cache, CLI --------------------------------------------


def _rgmp_release() -> bytes:
    """A stand-in for RGMP's weights.pth: the spec's keys and shapes, one broadcast value per
    tensor (91 KB), saved as PyTorch saves a DataParallel state dict."""
    state = OrderedDict(
        (key, torch.full((), 0.25 + 0.001 * i).expand(shape))
        for i, (key, shape) in enumerate(spec_keys("RGMP_DataParallel_state_dict_keys.txt"))
        if not key.endswith(COUNTER)
    )
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"rgmp-standin-{os.getpid()}.pth"
    torch.save(state, path)
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture(scope="module")
def release():
    return _rgmp_release()


@pytest.fixture(scope="module")
def fetched(tmp_path_factory, release):
    """rgmp:davis fetched once through a mirror on the local server; the server stays up."""
    home = tmp_path_factory.mktemp("vosbench-home")
    with WeightsServer() as running:
        running.state.files["weights.pth"] = release
        notes: list[str] = []
        result = fetch_weights(
            "rgmp:davis", mirror=running.url("/files"), home=home, notes=notes.append
        )
        yield running, home, result, notes


@pytest.mark.slow  # the shared fixture converts a 0.2 GB checkpoint once
def test_fetch_through_a_mirror_converts_and_records(fetched, release):
    server, home, result, notes = fetched
    assert result.downloaded and result.url == server.url("/files/weights.pth")
    assert result.sha256 == _sha(release) and result.checksum == "recorded on first download"
    assert result.source.read_bytes() == release
    assert result.path == home / "weights" / "rgmp" / "davis" / "rgmp-davis.pth"
    saved = torch.load(result.path, weights_only=True)
    assert saved["format"] == CHECKPOINT_FORMAT and saved["method"] == "rgmp"
    assert saved["source"] == {"file": "weights.pth", "sha256": _sha(release)}
    assert torch.all(saved["state_dict"]["Decoder.pred2.bias"] > 0.25)
    record = WeightsCache(result.card, home).record()
    assert record["sha256"] == _sha(release) and record["checksum"] == "recorded on first download"
    assert record["converted"]["size"] == result.path.stat().st_size
    assert len(notes) == 1 and f"recorded sha256 {_sha(release)}" in notes[0]
    assert not list(result.path.parent.glob("*.part*"))


@pytest.mark.slow  # the shared fixture converts a 0.2 GB checkpoint once
def test_a_ready_cache_makes_no_request(fetched, monkeypatch):
    server, home, first, _ = fetched
    before = len(server.requests())
    again = fetch_weights("rgmp:davis", mirror=server.url("/files"), home=home)
    monkeypatch.setenv("VOSBENCH_HOME", str(home))
    monkeypatch.delenv("VOSBENCH_WEIGHTS_MIRROR", raising=False)
    assert main(["weights", "fetch", "rgmp:davis"]) == 0  # no mirror, no network: the cache
    assert again.path == first.path and not again.downloaded
    assert len(server.requests()) == before


@pytest.mark.slow  # the shared fixture converts a 0.2 GB checkpoint once
def test_run_with_official_weights_uses_the_cache(fetched, monkeypatch, capsys):
    """`run --weights official` resolves to the cached checkpoint with no request (the network
    itself is not run here: test_rgmp runs converted weights end to end)."""
    import vosbench.runner

    server, home, result, _ = fetched
    monkeypatch.setenv("VOSBENCH_HOME", str(home))
    before, seen = len(server.requests()), []

    def stop(method, data, *, settings, **kwargs):
        seen.append((method, data.name, settings.weights))
        raise ConfigError("stopped before running")

    monkeypatch.setattr(vosbench.runner, "run", stop)
    for value in ("official", "rgmp:davis", "RGMP:Davis", str(result.path)):
        assert main(["run", "-m", "rgmp", "--weights", value, "-s", "synth-000"]) == 1
        assert "stopped before running" in capsys.readouterr().err
    assert seen == [("rgmp", "synthetic", result.path)] * 4
    assert resolve_weights("official", "rgmp", dataset="davis2017", home=home) == result.path
    assert len(server.requests()) == before


def test_the_mirror_comes_from_the_environment(server, tmp_path, monkeypatch, release):
    server.state.files["weights.pth"] = release
    monkeypatch.setenv("VOSBENCH_WEIGHTS_MIRROR", server.url("/files/"))
    monkeypatch.setattr(fetch_module, "_convert", lambda card, cache, checksum: _Converted(cache))
    result = fetch_weights("rgmp:davis", home=tmp_path)
    assert result.source.read_bytes() == release
    assert [p for p, _ in server.requests()] == ["/files/weights.pth"]


class _Converted:
    """What a conversion returns, for fetch tests that do not convert (it costs 0.2 GB of disk)."""

    def __init__(self, cache):
        cache.converted.write_bytes(b"converted")
        self.sha256 = _sha(b"converted")


def _pinned(monkeypatch, sha256: str) -> None:
    card = dataclasses.replace(weight_card("rgmp:davis"), sha256=sha256)
    monkeypatch.setattr(fetch_module, "weight_card", lambda tag: card)


def test_a_pinned_checksum_mismatch_deletes_the_download(server, tmp_path, monkeypatch, capsys):
    server.state.files["weights.pth"] = b"corrupt" * 1000
    _pinned(monkeypatch, "0" * 64)
    monkeypatch.setenv("VOSBENCH_HOME", str(tmp_path))
    code = main(["weights", "fetch", "rgmp:davis", "--mirror", server.url("/files")])
    error = capsys.readouterr().err
    assert code == 1 and "Traceback" not in error
    assert "checksum mismatch for weights.pth" in error and "0" * 64 in error
    assert "the file was deleted, not converted" in error
    assert not [p for p in (tmp_path / "weights" / "rgmp" / "davis").iterdir() if p.is_file()]


def test_a_pinned_checksum_that_matches_is_kept(server, tmp_path, monkeypatch, release):
    server.state.files["weights.pth"] = release
    _pinned(monkeypatch, _sha(release))
    monkeypatch.setattr(fetch_module, "_convert", lambda card, cache, checksum: _Converted(cache))
    result = fetch_weights("rgmp:davis", mirror=server.url("/files"), home=tmp_path)
    assert result.checksum == "pinned" and result.sha256 == _sha(release)


def test_a_later_download_is_checked_against_the_recorded_checksum(
    server, tmp_path, monkeypatch, release
):
    server.state.files["weights.pth"] = release
    monkeypatch.setattr(fetch_module, "_convert", lambda card, cache, checksum: _Converted(cache))
    first = fetch_weights("rgmp:davis", mirror=server.url("/files"), home=tmp_path)
    first.path.unlink()
    first.source.unlink()  # the cache lost its files, the record stays
    server.state.files["weights.pth"] = release[:-10] + b"0123456789"
    with pytest.raises(WeightsUnavailableError, match="the first download recorded"):
        fetch_weights("rgmp:davis", mirror=server.url("/files"), home=tmp_path)
    assert not first.source.exists() and not first.path.exists()


def test_a_truncated_download_is_never_converted(server, tmp_path, monkeypatch, release):
    server.state.files["weights.pth"] = release
    server.state.drop_after["weights.pth"] = [50_000, 0, 0, 0]
    converted = []
    monkeypatch.setattr(fetch_module, "_convert", lambda *args: converted.append(args))
    with pytest.raises(WeightsUnavailableError, match="dropped 4 times") as error:
        fetch_weights("rgmp:davis", mirror=server.url("/files"), home=tmp_path)
    assert "vosbench convert --method rgmp weights.pth rgmp-davis.pth" in str(error.value)
    assert not converted and not WeightsCache(weight_card("rgmp:davis"), tmp_path).source.exists()


def test_a_corrupt_download_that_does_not_convert_is_deleted(server, tmp_path, release):
    server.state.files["weights.pth"] = release[: len(release) // 2]  # whole transfer, bad file
    with pytest.raises(WeightsUnavailableError, match="does not convert.*it was deleted"):
        fetch_weights("rgmp:davis", mirror=server.url("/files"), home=tmp_path)
    cache = WeightsCache(weight_card("rgmp:davis"), tmp_path)
    assert not cache.source.exists() and not cache.converted.exists() and not cache.record()


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed on exit: nothing listens there


def test_offline_gives_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOSBENCH_HOME", str(tmp_path))
    mirror = f"http://127.0.0.1:{_refused_port()}/w"
    code = main(["weights", "fetch", "rgmp:davis", "--mirror", mirror])
    error = capsys.readouterr().err
    assert code == 1 and "Traceback" not in error
    assert error.startswith("error: cannot download rgmp:davis (weights.pth):")
    assert f"{mirror}/weights.pth: ConnectionRefusedError" in error
    assert "https://www.dropbox.com/s/gt0kivrb2hlavi2/weights.pth?dl=0" in error
    assert "`vosbench convert --method rgmp weights.pth rgmp-davis.pth`" in error
    assert str(tmp_path / "weights" / "rgmp" / "davis" / "weights.pth") in error


def test_run_refuses_unknown_or_foreign_tags(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOSBENCH_HOME", str(tmp_path))
    assert main(["run", "-m", "rgmp", "--weights", "rgmp:davs", "-s", "synth-000"]) == 1
    assert "did you mean 'rgmp:davis'" in capsys.readouterr().err
    assert main(["run", "-m", "rgmp", "--weights", "ranet:video-single", "-s", "synth-000"]) == 1
    assert "are ranet's, not rgmp's; rgmp's: rgmp:davis" in capsys.readouterr().err
    assert main(["run", "-m", "fan", "--weights", "official", "-s", "synth-000"]) == 1
    assert "fan has no released weights" in capsys.readouterr().err
    assert main(["run", "-m", "rgmp", "--weights", "missing.pth", "-s", "synth-000"]) == 1
    assert "missing.pth: weights file not found" in capsys.readouterr().err


def test_a_baidu_only_source_is_never_tried(tmp_path):
    baidu = Source("https://pan.baidu.com/s/1_AVtp_IElsU4fr5Jmw9sRA")
    assert not baidu.automatic
    with pytest.raises(DownloadError, match="by hand only"):
        _downloader().fetch(baidu, "x.pth", tmp_path / "x.part")


@pytest.mark.slow  # the shared fixture converts a 0.2 GB checkpoint once
def test_weights_list_shows_tags_checksums_and_cache(fetched, monkeypatch, capsys):
    _, home, _, _ = fetched
    monkeypatch.setenv("VOSBENCH_HOME", str(home))
    assert main(["weights", "list", "-v"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isalpha()}
    assert TAGS <= set(rows)
    assert "not pinned (recorded" in rows["rgmp:davis"] and rows["rgmp:davis"].split()[-3] == "yes"
    assert "  no  " in rows["cosnet:davis"]
    assert "url: https://pan.baidu.com/s/16oFzRmn4Meuq83fCYr4boQ (access code xwup" in out
    assert "davis2016/val, paper: J-Mean 0.815, F-Mean 0.82" in out


def test_a_second_process_waits_for_the_first_and_uses_its_result(server, tmp_path):
    """The download lock is held (by "another process"); fetch waits, then finds the cache ready."""
    import threading
    import time

    cache = WeightsCache(weight_card("rgmp:davis"), tmp_path)
    held = cache.lock()

    def finish() -> None:
        time.sleep(0.6)
        cache.converted.write_bytes(b"converted")
        cache.write_record(
            {
                "sha256": "ab" * 32,
                "checksum": "recorded on first download",
                "converted": {"size": 9},
            }
        )
        held.release()

    worker = threading.Thread(target=finish)
    worker.start()
    notes: list[str] = []
    result = fetch_weights(
        "rgmp:davis", mirror=server.url("/files"), home=tmp_path, notes=notes.append
    )
    worker.join()
    assert result.path == cache.converted and not result.downloaded
    assert (
        len(notes) == 1 and notes[0].startswith("waiting: ") and "fetching rgmp:davis" in notes[0]
    )
    assert server.requests() == []


def test_a_checksum_pinned_later_rechecks_a_cached_file(server, tmp_path, monkeypatch, release):
    server.state.files["weights.pth"] = release
    monkeypatch.setattr(fetch_module, "_convert", lambda card, cache, checksum: _Converted(cache))
    first = fetch_weights("rgmp:davis", mirror=server.url("/files"), home=tmp_path)
    assert first.checksum == "recorded on first download"
    _pinned(monkeypatch, _sha(release))  # the card now pins the same file: still good
    assert fetch_weights("rgmp:davis", home=tmp_path).checksum == "pinned"
    _pinned(monkeypatch, "1" * 64)  # and a different one: the cached file is refused, deleted
    with pytest.raises(WeightsUnavailableError, match="but the card pins 1111"):
        fetch_weights("rgmp:davis", home=tmp_path)
    assert not first.source.exists()
