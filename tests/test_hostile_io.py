"""Hostile inputs to the readers: decompression bombs, lying headers, wrong formats, YAML bombs.

Each file here is small on disk; what it asks for is not. The readers must refuse it with a
MaskFormatError (or a Problem) naming the file, quickly and without allocating what it asks.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, features

from vosbench.datasets.davis import DB_INFO_MAX_BYTES, read_db_info
from vosbench.errors import ConfigError, MaskFormatError
from vosbench.io import DEFAULT_MAX_PIXELS, max_pixels, read_frame, read_mask, write_mask
from vosbench.io.png import decode_png_labels

ROOT = Path(__file__).resolve().parents[1]
GREY, PALETTE, RGB = 0, 3, 2


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _png(width: int, height: int, idat: bytes, *, colour: int = GREY, depth: int = 8) -> bytes:
    """A PNG built chunk by chunk, so its header can say anything about its ``idat``."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    palette = _chunk(b"PLTE", bytes(range(256)) * 3) if colour == PALETTE else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + palette
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _scanlines(filters, rows: np.ndarray) -> bytes:
    """Raw PNG image data: each row's filter byte, then its (already filtered) bytes."""
    return b"".join(bytes([f]) + row.astype(np.uint8).tobytes() for f, row in zip(filters, rows))


def _no_chained_traceback(error: BaseException) -> bool:
    """True when a traceback of ``error`` would show no Pillow (or other) exception under it."""
    return error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def _pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


# ------------------------------------------------------------------------------------------
# decompression bombs and lying headers


@pytest.fixture(scope="module")
def bomb_idat() -> bytes:
    """64 MiB of zero rows compressed to about 64 KB: 160 times what an 854x480 header declares."""
    return zlib.compress(bytes(64 << 20), 9)


def test_png_holding_more_image_data_than_declared_is_refused_within_the_declared_size(
    tmp_path, bomb_idat
):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(854, 480, bomb_idat))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(MaskFormatError) as caught:
            read_mask(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value) == f"{path}: damaged PNG: declares 854x480 but holds more image data"
    assert caught.value.kind == "unreadable"
    # 854x480 rows are 410 KB; the file holds 64 MiB. Inflating all of it would peak above that.
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_png_whose_image_data_ends_early_is_refused_not_padded(tmp_path):
    path = tmp_path / "short.png"
    path.write_bytes(_png(64, 48, zlib.compress(bytes([0] + [7] * 64) * 20)))
    assert (_pillow(path.read_bytes()) == 7).sum() == 64 * 20  # Pillow pads the rest with zeros
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path)
    assert (
        str(caught.value)
        == f"{path}: damaged PNG: declares 64x48 but its image data ends after 20 of 48 rows"
    )


def test_png_whose_stream_is_cut_is_unreadable(tmp_path):
    path = tmp_path / "cut.png"
    path.write_bytes(_png(64, 48, zlib.compress(bytes(65 * 48))[:-6]))
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path)
    assert str(caught.value).startswith(f"{path}: cannot be read as an image (")
    assert caught.value.kind == "unreadable"


@pytest.mark.parametrize("colour, depth", [(GREY, 8), (PALETTE, 8), (RGB, 16)])
def test_huge_png_header_is_refused_naming_file_and_size(tmp_path, colour, depth):
    path = tmp_path / "huge.png"
    path.write_bytes(_png(30000, 30000, zlib.compress(b"\x00" * 100), colour=colour, depth=depth))
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}: declares 30000x30000 = 900,000,000 pixels, more than the limit of "
    )
    assert f"{DEFAULT_MAX_PIXELS:,}" in message and "VOSBENCH_MAX_PIXELS" in message
    assert caught.value.kind == "too_large"
    assert _no_chained_traceback(caught.value)


def _bmp_header(width: int, height: int) -> bytes:
    """An 8-bit BMP's headers and palette with no pixel data after them."""
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    offset = 14 + 40 + len(palette)
    file_header = b"BM" + struct.pack("<IHHI", offset + width * height, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 0, 0, 2835, 2835, 256, 0)
    return file_header + info + palette


def test_huge_bmp_header_is_refused_before_pillow_allocates(tmp_path):
    path = tmp_path / "huge.bmp"
    path.write_bytes(_bmp_header(30000, 30000))
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path)
    assert str(caught.value).startswith(f"{path}: declares more pixels than Pillow will decode")
    assert "900000000 pixels" in str(caught.value)
    assert caught.value.kind == "too_large" and _no_chained_traceback(caught.value)


def test_pixel_limit_argument_refuses_a_normal_mask(tmp_path):
    path = write_mask(tmp_path / "m.png", np.ones((48, 64), np.uint8))
    assert read_mask(path, max_pixels=64 * 48).sum() == 64 * 48
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path, max_pixels=64 * 48 - 1)
    assert str(caught.value).startswith(
        f"{path}: declares 64x48 = 3,072 pixels, more than the limit of 3,071"
    )


def test_pixel_limit_applies_to_bmp_through_pillow(tmp_path):
    path = tmp_path / "m.bmp"
    Image.fromarray(np.full((30, 40), 2, np.uint8), "L").save(path)
    with pytest.raises(
        MaskFormatError, match=r"declares 40x30 = 1,200 pixels, more than the limit of 1,000"
    ):
        read_mask(path, max_pixels=1000)


def test_pixel_limit_from_environment(tmp_path, monkeypatch):
    path = write_mask(tmp_path / "m.png", np.ones((48, 64), np.uint8))
    monkeypatch.setenv("VOSBENCH_MAX_PIXELS", "3000")
    assert max_pixels() == 3000 and max_pixels(5) == 5
    with pytest.raises(MaskFormatError, match=r"more than the limit of 3,000"):
        read_mask(path)
    monkeypatch.setenv("VOSBENCH_MAX_PIXELS", "4000")
    assert read_mask(path).shape == (48, 64)
    monkeypatch.setenv("VOSBENCH_MAX_PIXELS", "lots")
    with pytest.raises(
        ConfigError, match=r"VOSBENCH_MAX_PIXELS='lots': expected a positive whole number"
    ):
        read_mask(path)
    monkeypatch.delenv("VOSBENCH_MAX_PIXELS")
    assert max_pixels() == DEFAULT_MAX_PIXELS == 2**27
    with pytest.raises(ConfigError):
        max_pixels(0)


def _jpeg_claiming(tmp_path: Path, width: int, height: int) -> Path:
    """A real 16x16 JPEG whose SOF0 segment is rewritten to declare ``width`` x ``height``."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 30, 200)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path = tmp_path / "frame.jpg"
    path.write_bytes(bytes(data))
    return path


def test_read_frame_applies_the_pixel_limit(tmp_path, monkeypatch):
    path = _jpeg_claiming(tmp_path, 16, 16)
    frame = read_frame(path)
    assert frame.shape == (16, 16, 3) and abs(int(frame[8, 8, 2]) - 200) < 8
    with pytest.raises(
        MaskFormatError, match=r"declares 16x16 = 256 pixels, more than the limit of 255"
    ):
        read_frame(path, max_pixels=255)
    monkeypatch.setenv("VOSBENCH_MAX_PIXELS", "2000000")
    big = _jpeg_claiming(tmp_path, 2000, 1500)
    with pytest.raises(MaskFormatError) as caught:
        read_frame(big)
    assert str(caught.value).startswith(f"{big}: declares 2000x1500 = 3,000,000 pixels")


def test_read_frame_refuses_a_huge_header_without_traceback(tmp_path):
    path = _jpeg_claiming(tmp_path, 30000, 30000)
    with pytest.raises(MaskFormatError) as caught:
        read_frame(path)
    assert str(caught.value).startswith(f"{path}: declares more pixels than Pillow will decode")
    assert caught.value.kind == "too_large" and _no_chained_traceback(caught.value)


def test_read_frame_missing_and_unreadable(tmp_path):
    with pytest.raises(MaskFormatError, match=r"file not found") as caught:
        read_frame(tmp_path / "nope.jpg")
    assert caught.value.kind == "missing"
    (tmp_path / "bad.jpg").write_text("not a jpeg")
    with pytest.raises(MaskFormatError, match=r"bad.jpg: cannot be read as an image") as caught:
        read_frame(tmp_path / "bad.jpg")
    assert caught.value.kind == "unreadable"


# ------------------------------------------------------------------------------------------
# files identified by their bytes, not their names


_LOSSY_OR_OTHER = [("JPEG", "JPEG"), ("GIF", "GIF"), ("TIFF", "TIFF")]
if features.check("webp"):
    _LOSSY_OR_OTHER.append(("WEBP", "WebP"))


@pytest.mark.parametrize("pillow_format, name", _LOSSY_OR_OTHER)
def test_other_formats_named_png_are_refused(tmp_path, pillow_format, name):
    path = tmp_path / "00000.png"
    Image.fromarray(np.full((24, 32), 255, np.uint8), "L").save(path, format=pillow_format)
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path)
    assert str(caught.value) == (
        f"{path}: is a {name} file, not a PNG; masks must be lossless indexed PNGs"
    )
    assert caught.value.kind == "format"


@pytest.mark.parametrize(
    "content, detail", [(b"", "empty file"), (b"hello", "neither a PNG nor a BMP file")]
)
def test_unknown_bytes_are_unreadable(tmp_path, content, detail):
    path = tmp_path / "m.png"
    path.write_bytes(content)
    with pytest.raises(MaskFormatError) as caught:
        read_mask(path)
    assert str(caught.value) == f"{path}: cannot be read as an image ({detail})"
    assert caught.value.kind == "unreadable"


@pytest.mark.parametrize("mode", ["L", "P"])
def test_bmp_masks_are_still_read(tmp_path, mode):
    labels = np.zeros((30, 40), np.uint8)
    labels[5:20, 10:30] = 3
    labels[0, 0] = 255
    path = tmp_path / "m.bmp"
    image = Image.fromarray(labels, "L")
    (image.convert("P") if mode == "P" else image).save(path)
    assert np.array_equal(read_mask(path), labels)


def test_grey_rgb_bmp_is_still_read_with_grey_rgb(tmp_path):
    grey = np.arange(30 * 40, dtype=np.uint32).reshape(30, 40).astype(np.uint8)
    path = tmp_path / "m.bmp"
    Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB").save(path)
    assert np.array_equal(read_mask(path, grey_rgb=True), grey)


# ------------------------------------------------------------------------------------------
# normal PNGs still decode exactly as Pillow decodes them


def test_sub_and_up_rows_decode_to_known_values():
    filtered = np.array([[10, 5, 250, 1], [1, 1, 1, 1], [7, 7, 7, 7]])
    data = _png(4, 3, zlib.compress(_scanlines([1, 2, 0], filtered)))
    expected = np.array([[10, 15, 9, 10], [11, 16, 10, 11], [7, 7, 7, 7]], np.uint8)
    assert np.array_equal(decode_png_labels(data), expected)
    assert np.array_equal(_pillow(data), expected)


@pytest.mark.parametrize("colour", [GREY, PALETTE])
def test_fast_path_matches_pillow_on_none_sub_up_rows(colour):
    rng = np.random.default_rng(7)
    filters = rng.integers(0, 3, size=50)
    filters[:3] = [0, 1, 2]
    data = _png(
        37, 50, zlib.compress(_scanlines(filters, rng.integers(0, 256, (50, 37)))), colour=colour
    )
    fast = decode_png_labels(data)
    assert fast is not None and fast.shape == (50, 37)
    assert np.array_equal(fast, _pillow(data))


def test_average_and_paeth_rows_fall_back_to_pillow():
    rng = np.random.default_rng(11)
    filters = rng.integers(0, 5, size=40)
    filters[:2] = [3, 4]
    data = _png(29, 40, zlib.compress(_scanlines(filters, rng.integers(0, 256, (40, 29)))))
    assert decode_png_labels(data) is None
    assert np.array_equal(read_mask("paeth.png", data=data), _pillow(data))


def test_written_and_pillow_saved_masks_round_trip(tmp_path):
    labels = np.random.default_rng(3).integers(0, 6, (48, 64)).astype(np.uint8)
    palette_path = write_mask(tmp_path / "p.png", labels)
    grey_path = tmp_path / "g.png"
    Image.fromarray(labels, "L").save(grey_path)
    for path in (palette_path, grey_path):
        assert np.array_equal(read_mask(path), labels)


@pytest.mark.real_data
def test_real_davis_masks_read_as_pillow_reads_them(davis2016_root):
    paths = sorted((davis2016_root / "Annotations" / "480p").glob("*/*.png"))[::25]
    assert len(paths) > 50
    for path in paths:
        with Image.open(path) as image:
            expected = np.asarray(image)
        labels = read_mask(path)
        assert np.array_equal(labels, expected[..., 0] if expected.ndim == 3 else expected), path


# ------------------------------------------------------------------------------------------
# db_info.yml


def _laughs(levels: int = 9) -> str:
    """The "billion laughs": each anchor lists the previous one nine times (9**9 entries)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    lines += ["sequences:", "- name: bear", f"  attributes: *l{levels - 1}"]
    return "\n".join(lines) + "\n"


def test_alias_bomb_db_info_is_reported_quickly(tmp_path):
    (tmp_path / "db_info.yml").write_text(_laughs())
    assert (tmp_path / "db_info.yml").stat().st_size < 600
    # A subprocess with a memory cap: a regression fails this test instead of hanging the suite.
    script = textwrap.dedent(f"""
        import resource, time
        from pathlib import Path
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from vosbench.datasets.davis import read_db_info
        start = time.perf_counter()
        info, problems = read_db_info(Path({str(tmp_path)!r}))
        print(time.perf_counter() - start)
        print(info)
        print("\\n".join(map(str, problems)))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    elapsed, info, problem = result.stdout.splitlines()
    assert float(elapsed) < 1.0 and info == "{}"
    assert problem == (
        f"{tmp_path / 'db_info.yml'}: YAML aliases are not allowed (*l0 at line 2); "
        "attributes left empty"
    )


def test_oversized_db_info_is_refused_unread(tmp_path):
    path = tmp_path / "db_info.yml"
    path.write_text("sequences:\n" + "#" * DB_INFO_MAX_BYTES + "\n")
    info, problems = read_db_info(tmp_path)
    assert info == {} and [str(p) for p in problems] == [
        f"{path}: larger than the {DB_INFO_MAX_BYTES:,} bytes a db_info.yml may have; "
        "attributes left empty"
    ]


def test_deeply_nested_db_info_is_reported(tmp_path):
    (tmp_path / "db_info.yml").write_text("sequences: " + "[" * 5000 + "]" * 5000 + "\n")
    info, problems = read_db_info(tmp_path)
    assert info == {} and len(problems) == 1
    assert str(problems[0]).endswith("db_info.yml: YAML nested too deeply; attributes left empty")


def test_db_info_without_aliases_still_loads(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "db_info.yml").write_text(
        textwrap.dedent("""\
        attributes: [AC, DEF]
        sequences:
        - attributes: [DEF, AC]
          name: bear
          num_frames: 82
          eval_t: True
        - attributes: []
          name: blackswan
          num_frames: 50
    """)
    )
    info, problems = read_db_info(tmp_path)
    assert problems == []
    assert info == {
        "bear": {"attributes": ["DEF", "AC"], "eval_t": True, "num_frames": 82},
        "blackswan": {"attributes": [], "num_frames": 50},
    }


@pytest.mark.real_data
def test_real_davis2016_db_info_loads_as_before(davis2016_root):
    text = (davis2016_root / "Annotations" / "db_info.yml").read_text()
    info, problems = read_db_info(davis2016_root)
    entries = yaml.safe_load(text)["sequences"]
    assert problems == [] and len(info) == len(entries) == 50
    assert info["bear"] == {"attributes": ["DEF"], "eval_t": True, "num_frames": 82}
    assert all(info[str(e["name"])]["num_frames"] == e["num_frames"] for e in entries)
