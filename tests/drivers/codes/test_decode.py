"""decode_image: reads at least what zxing-cpp reads alone, with the exact text."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode
import zxingcpp
from PIL import Image
from qrcode.image.pil import PilImage

from drivers.camera.synth import Defects, sample_pages, synthesize
from drivers.codes import Code, decode_image
from drivers.codes.decode import read_image_file
from tests.drivers.codes.shared_samples import is_right, sample_images

FRENCH = "Il était une fois — Zoé Béranger, 12 € à Besançon ; « ça » marche"


def qr_image(text: str, *, box: int = 6, data: bytes | None = None) -> np.ndarray:
    """A QR code as ordinary generators make it: UTF-8 bytes, no ECI segment."""
    code = qrcode.QRCode(box_size=box, border=4, image_factory=PilImage)
    code.add_data(data if data is not None else text.encode("utf-8"))
    code.make(fit=True)
    return np.asarray(code.make_image().convert("L"), dtype=np.uint8)


def test_we_read_at_least_as_many_shared_samples_as_zxing_cpp_alone(shared_data: Path) -> None:
    images = list(sample_images(shared_data))
    assert len(images) >= 100, "the shared samples are all there"
    direct = ours = 0
    missed = []
    for path in images:
        with Image.open(path) as picture:
            picture.load()
            results = zxingcpp.read_barcodes(picture)        # zxing-cpp with default options
        direct += is_right(path, ((r.text, bytes(r.bytes)) for r in results))
        codes = decode_image(read_image_file(path))
        if is_right(path, ((c.text, c.raw or b"") for c in codes)):
            ours += 1
        else:
            missed.append(path.name)
    print(f"\nshared code samples read right: ours {ours}, zxing-cpp alone {direct}, "
          f"of {len(images)}; ours missed {missed}")
    assert ours >= direct
    assert ours >= len(images) - 2, f"missed {missed}"


@pytest.mark.parametrize("backend", ["zxing", "zbar"])
def test_accents_come_out_exactly_with_both_backends(backend: str) -> None:
    codes = decode_image(qr_image(FRENCH), backend)
    assert codes == [Code("QRCode", FRENCH, FRENCH.encode("utf-8"))]


def test_zbar_is_not_fooled_into_japanese() -> None:
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    image = qr_image("Il était")
    assert pyzbar.decode(image)[0].data.decode("utf-8") != "Il était", "the trap is real"
    assert decode_image(image, "zbar")[0].text == "Il était"


def test_separators_of_a_2d_doc_are_kept(shared_data: Path) -> None:
    codes = decode_image(read_image_file(shared_data / "2ddoc" / "barcode_c40_v2.png"))
    assert len(codes) == 1 and codes[0].format == "DataMatrix"
    assert codes[0].text.startswith("DC02FR000001") and "\x1d22145 AVENUE" in codes[0].text
    assert "<GS>" not in codes[0].text


def test_binary_content_comes_with_its_bytes(shared_data: Path) -> None:
    path = shared_data / "codes" / "datamatrix-1" / "eci-mixed.png"
    codes = decode_image(read_image_file(path))
    assert codes[0].raw == path.with_suffix(".bin").read_bytes()


def test_the_codes_of_the_sample_pages_read_on_synthesised_frames() -> None:
    for page in sample_pages():
        for code in page.codes:
            for seed, defects in ((1, Defects()), (2, Defects(blur_sigma=0.8)),
                                  (3, Defects(noise_sigma=3))):
                frame, _ = synthesize(page.bgra(), np.random.default_rng(seed),
                                      page_size_mm=page.size_mm, defects=defects)
                found = decode_image(frame)
                assert Code(code["format"], code["text"], code["text"].encode()) in found, \
                    (page.name, seed)


def test_retries_read_a_code_a_single_pass_misses() -> None:
    """A faint, noisy photocopy of a QR code: the plain pass finds nothing, the retries do."""
    rng = np.random.default_rng(3)
    sharp = qr_image("https://demarches.example.fr/suivi/ABCD-1234-EFGH", box=3)
    faint = 150 + sharp.astype(np.float32) * (40 / 255)          # ink at 150, paper at 190
    noisy = faint + rng.normal(0, 14, sharp.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    assert zxingcpp.read_barcodes(image) == []
    assert [c.text for c in decode_image(image)] == [
        "https://demarches.example.fr/suivi/ABCD-1234-EFGH"]


def test_images_of_every_kind_are_accepted() -> None:
    grey = qr_image("abc")
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    bgra = np.dstack([bgr, np.full(grey.shape, 255, np.uint8)])
    for image in (grey, bgr, bgra, grey.astype(np.uint16) * 257, grey > 127,
                  Image.fromarray(grey), Image.fromarray(bgr[:, :, ::-1]).convert("P")):
        assert [c.text for c in decode_image(image)] == ["abc"]


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.zeros((0, 0), np.uint8), {}, "not an image"),
        (np.zeros((10, 10), np.float64), {}, "pixels of type float64"),
        (np.zeros((10, 10, 2), np.uint8), {}, "2 channels"),
        (np.zeros((10, 10), np.uint8), {"backend": "quagga"}, "valid: zxing, zbar"),
        (np.zeros((10, 10), np.uint8), {"formats": ["QRCode", "Bogus"]}, "Bogus"),
    ],
)
def test_bad_arguments_are_refused_clearly(image, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        decode_image(image, **kwargs)


def test_unreadable_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_image_file(tmp_path / "absent.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        read_image_file(text)
    cut = tmp_path / "cut.png"
    _, png = cv2.imencode(".png", qr_image("abc"))
    cut.write_bytes(png.tobytes()[:200])
    with pytest.raises((ValueError, OSError)):
        read_image_file(cut)
