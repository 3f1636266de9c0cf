"""``kiosk codes --2ddoc IMAGE...``: one JSON line per image in the issue's shape, the
verdicts right (valid, invalid, not verifiable), errors as ``kiosk codes`` gives them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devtools.twoddoc_samples import authority, datamatrix, encode, page_with_code
from tests.conftest import run_cli
from tests.twoddoc.kit import fr00_key

FIELDS = {"10": "MME/SPECIMEN/NATACHA", "22": "145 AVENUE DES SPECIMENS", "24": "75000",
          "25": "PARIS", "26": "FR"}
SHAPE = {"version", "authority", "certificate", "issued", "signed", "document_type", "fields",
         "signature"}


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def trusting_config(tmp_path: Path) -> dict[str, str]:
    """A configuration that trusts the test authority, with a data folder of the test's own
    (the machine's /etc/kiosk/kiosk.toml, if any, must not decide)."""
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n'
                      "[twoddoc]\ntest_authority = true\n")
    return {"KIOSK_CONFIG": str(config)}


def test_valid_invalid_and_unknown_codes_each_get_their_verdict(
        tmp_path: Path, twoddoc_data: Path) -> None:
    key = fr00_key()
    valid = encode(key, FIELDS, signed=date(2014, 6, 2), issued=None, document_type="02")
    tampered = valid.replace(b"PARIS", b"LILLE")
    stranger_key, _ = authority("FR42", "AB12")
    stranger = encode(stranger_key, FIELDS, authority="FR42", certificate="AB12",
                      signed=date(2025, 1, 3))
    paths = []
    for name, payload in (("valid", valid), ("tampered", tampered), ("stranger", stranger)):
        paths.append(tmp_path / f"{name}.png")
        datamatrix(payload, paths[-1])
    page = tmp_path / "page.png"          # a whole page with the code in a corner
    cv2.imwrite(str(page), page_with_code(valid))
    result = run_cli("kiosk", ["codes", "--2ddoc", *map(str, [*paths, page])],
                     env=trusting_config(tmp_path))
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert [o["image"] for o in out] == [str(p) for p in [*paths, page]]
    verdicts = [[c["signature"] for c in o["2ddoc"]] for o in out]
    assert verdicts == [["valid"], ["invalid"], ["not_verifiable"], ["valid"]]
    first = out[0]["2ddoc"][0]
    assert set(first) == SHAPE
    assert first == {"version": 4, "authority": "FR00", "certificate": "0001", "issued": None,
                     "signed": "2014-06-02", "document_type": "02", "fields": FIELDS,
                     "signature": "valid"}
    assert out[2]["2ddoc"][0]["authority"] == "FR42"


def test_a_production_configuration_does_not_trust_the_test_authority(
        tmp_path: Path, twoddoc_data: Path) -> None:
    path = tmp_path / "valid.png"
    datamatrix(encode(fr00_key(), FIELDS, signed=date(2014, 6, 2)), path)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    result = run_cli("kiosk", ["codes", "--2ddoc", str(path)],
                     env={"KIOSK_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout)[0]["2ddoc"][0]["signature"] == "not_verifiable"


def test_no_code_is_an_empty_list_and_an_unreadable_image_an_error(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300), 255, dtype=np.uint8))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    missing = tmp_path / "missing.png"
    result = run_cli("kiosk", ["codes", "--2ddoc", str(blank), str(broken), str(missing)],
                     env=trusting_config(tmp_path))
    assert result.returncode == 1
    out = lines(result.stdout)
    assert out[0] == {"image": str(blank), "2ddoc": []}
    assert set(out[1]) == {"image", "error"} and str(broken) in out[1]["error"]
    assert set(out[2]) == {"image", "error"}
    assert "2 of 3 image(s) could not be read" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_datamatrix_that_is_a_broken_2ddoc_is_said_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "broken-2ddoc.png"
    datamatrix(b"DC04FR000001198519D31201FR10NO SIGNATURE", path)
    result = run_cli("kiosk", ["codes", "--2ddoc", str(path)], env=trusting_config(tmp_path))
    assert result.returncode == 0
    assert lines(result.stdout) == [{"image": str(path), "2ddoc": []}]
    assert "no US" in result.stderr
