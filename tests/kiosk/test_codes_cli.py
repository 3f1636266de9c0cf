"""``kiosk codes IMAGE...``: one JSON line per image, exact texts, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import qrcode
import zxingcpp
from PIL import Image
from qrcode.image.pil import PilImage

from tests.conftest import REPO, run_cli
from tests.drivers.codes.shared_samples import is_right, sample_images


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_every_shared_sample_gets_a_line_and_we_read_at_least_what_zxing_alone_reads(
        shared_data: Path) -> None:
    images = list(sample_images(shared_data))
    result = run_cli("kiosk", ["codes", *map(str, images)])
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert [o["image"] for o in out] == [str(p) for p in images]
    ours = direct = 0
    for path, line in zip(images, out, strict=True):
        assert set(line) == {"image", "codes", "ms"} and line["ms"] >= 0
        readings = [(c["text"], bytes.fromhex(c["bytes"]) if "bytes" in c
                     else c["text"].encode()) for c in line["codes"]]
        ours += is_right(path, readings)
        with Image.open(path) as picture:
            picture.load()
            direct += is_right(path, ((r.text, bytes(r.bytes))
                                      for r in zxingcpp.read_barcodes(picture)))
    print(f"\nkiosk codes read {ours} of {len(images)} shared samples right; "
          f"zxing-cpp alone {direct}")
    assert ours >= direct


def test_accents_and_formats_come_out_exactly(tmp_path: Path) -> None:
    text = "Convocation de Mme Hélène Lefèvre — guichet n° 3, 14 h 30 « à l'accueil »"
    code = qrcode.QRCode(box_size=4, image_factory=PilImage)
    code.add_data(text.encode("utf-8"))
    path = tmp_path / "convocation.png"
    code.make_image().save(path)
    result = run_cli("kiosk", ["codes", str(path)])
    assert result.returncode == 0, result.stderr
    assert "Hélène" in result.stdout, "UTF-8 on stdout, not \\u escapes"
    assert lines(result.stdout) == [{"image": str(path), "ms": lines(result.stdout)[0]["ms"],
                                     "codes": [{"format": "QRCode", "text": text}]}]


def test_the_sample_pages_codes_are_read() -> None:
    pages = REPO / "assets" / "pages"
    index = [e for e in json.loads((pages / "pages.json").read_text(encoding="utf-8"))
             if e["codes"]]
    assert index, "some sample pages carry codes"
    paths = [str(pages / entry["file"]) for entry in index]
    result = run_cli("kiosk", ["codes", *paths])
    assert result.returncode == 0, result.stderr
    for entry, line in zip(index, lines(result.stdout), strict=True):
        assert [{"format": c["format"], "text": c["text"]} for c in line["codes"]] == \
            entry["codes"]


def test_unreadable_files_get_an_error_line_and_a_failing_status(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    qrcode.make("ok", image_factory=PilImage).save(good)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    missing = tmp_path / "missing.jpg"
    result = run_cli("kiosk", ["codes", str(junk), str(good), str(missing)])
    assert result.returncode == 1
    out = lines(result.stdout)
    assert [o["image"] for o in out] == [str(junk), str(good), str(missing)]
    assert "error" in out[0] and str(junk) in out[0]["error"]
    assert out[1]["codes"] == [{"format": "QRCode", "text": "ok"}]
    assert out[2]["error"] == f"{missing}: No such file or directory"
    assert "Traceback" not in result.stderr
    assert "2 of 3 image(s) could not be read" in result.stderr


def test_an_image_without_code_is_not_an_error(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 100), 255).save(blank)
    result = run_cli("kiosk", ["codes", "--fast", str(blank)])
    assert result.returncode == 0
    assert lines(result.stdout)[0]["codes"] == []


def test_an_unknown_format_is_refused_before_reading() -> None:
    result = run_cli("kiosk", ["codes", "--formats", "QRCode,Bogus", "x.png"])
    assert result.returncode == 2
    assert "Bogus" in result.stderr and result.stdout == ""
