"""The dossier PDF and the receipt renderings, timed against the scanner in the same run.

The dossier builder only copies the scanner's compressed streams into the PDF, so
its time should be a small fraction of what the scanner spent making the same
pages (target: under a fifth). Figures:

- ``scanner_ms``: ``scanner.process_still`` (detect, rectify, assess, enhance,
  compress) on synthesised camera frames of the sample pages, summed over the pages;
  ``compress_ms``: ``scanner.compress`` alone on the same pages (the smallest
  reference: the encoding the dossier must not repeat);
- ``dossier``: ``printer.dossier.dossier_pdf`` on those pages (median of repeats),
  its ratios to both references, its peak Python allocation against the bytes of
  the pages (decoding one A4 page would be megabytes);
- ``receipt``: layout as a print job, roll PDF, screen PNG, speech text.
"""

from __future__ import annotations

import functools
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import numpy as np

from benchmarks.common import Context, summary_ms, time_calls
from drivers.camera.synth import sample_pages, synthesize
from drivers.printer.profiles import load_profile
from printer.dossier import DossierDocument, DossierInfo, dossier_pdf
from printer.escpos_layout import receipt_job
from printer.receipt_pdf import receipt_pdf
from printer.samples import sample_receipt
from printer.screen import receipt_png
from printer.speech import receipt_speech
from scanner import EncodedPage, compress, process_still


def _scan(count: int) -> tuple[list[EncodedPage], float, float, int]:
    """Synthesise ``count`` frames of the sample pages and scan them.

    Returns the encoded pages, the seconds of process_still and of compress alone,
    and how many frames needed the true corners because detection missed.
    """
    samples = sample_pages()
    rng = np.random.default_rng(2024)
    encoded: list[EncodedPage] = []
    scan_s = compress_s = 0.0
    missed = 0
    for i in range(count):
        sample = samples[i % len(samples)]
        frame, corners = synthesize(sample.bgra(), rng, page_size_mm=sample.size_mm)
        start = time.perf_counter()
        result = process_still(frame)
        scan_s += time.perf_counter() - start
        if result.page is None or result.encoded is None:
            missed += 1
            start = time.perf_counter()
            result = process_still(frame, corners=corners)
            scan_s += time.perf_counter() - start
        assert result.page is not None and result.encoded is not None
        page = result.page
        compress_s += min(time_calls(functools.partial(compress, page), repeat=3, warmup=0))
        encoded.append(result.encoded)
    return encoded, scan_s, compress_s, missed


def run(ctx: Context) -> dict[str, Any]:
    count = 4 if ctx.quick else 10
    repeat = 3 if ctx.quick else 15
    pages, scan_s, compress_s, missed = _scan(count)
    info = DossierInfo(deposit_id="D3M0-01RZ-KNWS", procedure_code="caf-apl",
                       procedure_title="Aide personnalisée au logement (APL)",
                       created=datetime(2025, 11, 22, 14, 57, tzinfo=UTC), kiosk_id="DEMO-01",
                       kiosk_place="France Services de Besançon-Planoise")
    documents = [DossierDocument(f"Document {i + 1}", pages[i:i + 2])
                 for i in range(0, len(pages), 2)]

    build = time_calls(lambda: dossier_pdf(info, documents), repeat=repeat)
    pdf = dossier_pdf(info, documents)
    tracemalloc.start()
    dossier_pdf(info, documents)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    page_bytes = sum(len(p.data) for p in pages)
    build_ms = summary_ms(build)

    receipt = sample_receipt("fr")
    profile = load_profile("TM-T88V", width=80)
    small = 5 if ctx.quick else 20
    return {
        "pages": count,
        "codecs": {c: sum(p.codec == c for p in pages) for c in ("ccitt-g4", "jpeg")},
        "detection_missed": missed,
        "scanner_ms": round(scan_s * 1000, 1),
        "compress_ms": round(compress_s * 1000, 1),
        "dossier": {
            **build_ms,
            "ratio_to_scanner": round(build_ms["median_ms"] / (scan_s * 1000), 4),
            "ratio_to_compress": round(build_ms["median_ms"] / (compress_s * 1000), 4),
            "target_ratio_to_scanner": 0.2,
            "pdf_bytes": len(pdf),
            "page_bytes": page_bytes,
            "overhead_bytes": len(pdf) - page_bytes,
            "peak_alloc_bytes": peak,
            "peak_alloc_over_page_bytes": round(peak / page_bytes, 2),
        },
        "receipt": {
            "print_job": summary_ms(time_calls(lambda: receipt_job(receipt, profile), small)),
            "roll_pdf": summary_ms(time_calls(lambda: receipt_pdf(receipt, roll_mm=80), small)),
            "screen_png": summary_ms(time_calls(lambda: receipt_png(receipt), small)),
            "speech": summary_ms(time_calls(lambda: receipt_speech(receipt), small)),
        },
    }
