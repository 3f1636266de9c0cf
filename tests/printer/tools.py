"""The reference tools the printer tests check against: poppler-utils and zbarimg."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (bin/setup installs it)")
    return path


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True,
                          timeout=120).stdout


def decode_qr(png: Path) -> list[str]:
    """Every QR payload zbarimg reads in an image (UTF-8 kept)."""
    need("zbarimg")
    result = subprocess.run(["zbarimg", "--raw", "-q", "-Sqrcode.enable=1", "-Sbinary", str(png)],
                            capture_output=True, timeout=60)
    return [line for line in result.stdout.decode("utf-8").splitlines() if line]


def pdf_pages_to_png(pdf: Path, dpi: int, out: Path, *, first: int = 1,
                     last: int | None = None, gray: bool = False) -> list[Path]:
    """Render pages ``first`` to ``last`` into the empty folder ``out`` (PNG, or PGM if gray)."""
    need("pdftoppm")
    out.mkdir(parents=True, exist_ok=True)
    args = ["pdftoppm", "-r", str(dpi), "-f", str(first), "-l", str(last or first)]
    run(*args, *(["-gray"] if gray else ["-png"]), pdf, out / "page")
    return sorted(out.glob("page-*"))


def page_sizes_mm(pdf: Path) -> list[tuple[float, float]]:
    """Each page's size from pdfinfo, in millimetres."""
    need("pdfinfo")
    text = run("pdfinfo", "-f", "1", "-l", "9999", pdf)
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", text)
    return [(float(w) * 25.4 / 72, float(h) * 25.4 / 72) for w, h in sizes]


def pdf_info(pdf: Path) -> dict[str, str]:
    need("pdfinfo")
    out = {}
    for line in run("pdfinfo", "-isodates", pdf).splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def pdf_text(pdf: Path, *, first: int = 1, last: int | None = None) -> str:
    need("pdftotext")
    return run("pdftotext", "-layout", "-f", str(first), "-l", str(last or 9999), pdf, "-")
