"""The 2D-Doc of captured pages: found, read and checked off the capture loop.

A captured page may carry a 2D-Doc (the signed DataMatrix of French proofs of
address, tax notices, payslips...). :class:`PageChecker` looks for every
DataMatrix on the **rectified page at full resolution**, on its own thread,
once the page is in the session: the capture loop only hands the picture
over, so the next page is never slowed. Each code is parsed and its signature
checked (:mod:`twoddoc`); the records are kept with the page
(``StoredPage.meta["twoddoc"]``, wiped with it), sealed into ``deposit.json``
(kiosk/sealing.py) and shown to the staff; the journey hears only whether the
page is *authenticated* (a code that verifies), which the review screen shows.
Nothing of a code's content is spoken or shown to the citizen.

The trust list (:func:`load_trust`) is the one the back office sent with the
fleet state (signed, kiosk/fleetstate.py), else the one the kiosk shipped
with (``assets/twoddoc/trust-list.xml``), plus ``[twoddoc] trust_list``, plus
the ANTS test authority when ``[twoddoc] test_authority`` is true or no
configuration file exists at all (the simulators on a laptop).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import assets
import twoddoc
from deposit.fleetstate import AckKey
from drivers.codes import decode_image
from drivers.codes.decode import to_grey
from kiosk import fleetstate
from kiosk.config import Config
from kiosk.journey import PageChecked
from kiosk.session import Session
from twoddoc import Outcome, TrustList, TwoDDoc, TwoDDocError, Verification

log = logging.getLogger(__name__)

SHIPPED = ("twoddoc", "trust-list.xml")
TEST_AUTHORITY = ("twoddoc", "test-authority.xml")
#: Where a page's records are kept (StoredPage.meta), for the sealing.
META_KEY = "twoddoc"
#: Page times a checker keeps (a day of a busy kiosk's pages; enough for a median).
KEPT_TIMES = 1000


@dataclass(frozen=True)
class PageCode:
    """One 2D-Doc read on a page, and the verdict on its signature."""

    doc: TwoDDoc
    verification: Verification

    @property
    def outcome(self) -> Outcome:
        return self.verification.outcome

    def summary(self) -> dict[str, Any]:
        """The issue's JSON shape (``kiosk codes --2ddoc``)."""
        h = self.doc.header
        return {
            "version": h.version, "authority": h.authority, "certificate": h.certificate,
            "issued": h.issued.isoformat() if h.issued else None,
            "signed": h.signed.isoformat() if h.signed else None,
            "document_type": h.document_type, "fields": self.doc.field_texts(),
            "signature": self.outcome.value,
        }

    def record(self) -> dict[str, Any]:
        """What deposit.json keeps: the summary, the reason, each field's name and value as
        a person reads it, the document type's name, and the unsigned annex apart."""
        return {
            **self.summary(), "reason": self.verification.reason.value,
            "document_type_name": self.doc.header.document_type_name,
            "named_fields": [{"id": f.id, "name": f.name, "value": f.display()}
                             for f in self.doc.fields],
            "annex": {f.id: f.text for f in self.doc.annex},
        }


@dataclass
class PageReading:
    codes: list[PageCode] = field(default_factory=list)
    #: DataMatrix that meant to be 2D-Docs but could not be read, in words.
    problems: list[str] = field(default_factory=list)

    @property
    def authenticated(self) -> bool:
        return any(c.outcome is Outcome.VALID for c in self.codes)


def trusts_test_authority(config: Config) -> bool:
    return config.twoddoc.test_authority or config.path is None


def trust_list(config: Config, fleet_xml: str | None = None) -> TrustList:
    """The certificates this kiosk trusts (see the module's docstring). A list that cannot
    be read is logged and left out: the others still count."""
    include_test = trusts_test_authority(config)
    sources: list[tuple[str, str | bytes]] = []
    if fleet_xml is not None:
        sources.append(("the fleet state", fleet_xml))
    else:
        sources.append((str(assets.path(*SHIPPED)), assets.path(*SHIPPED).read_bytes()))
    extra = config.twoddoc.trust_list
    if extra is not None:
        try:
            sources.append((str(extra), Path(extra).read_bytes()))
        except OSError as exc:
            log.error("[twoddoc] trust_list %s cannot be read: %s", extra, exc)
    if include_test:
        sources.append(("the ANTS test authority", assets.path(*TEST_AUTHORITY).read_bytes()))
    certificates: list[twoddoc.TrustedCertificate] = []
    for name, xml in sources:
        try:
            certificates += TrustList.from_xml(xml, include_test=include_test).certificates
        except twoddoc.TrustListError as exc:
            log.error("2D-Doc trust list from %s not used: %s", name, exc)
    trust = TrustList(tuple(certificates))
    log.debug("2D-Doc trust list: authorities %s%s", ", ".join(trust.authorities) or "none",
             " (test authority trusted: not for citizens)" if include_test else "")
    return trust


def load_trust(config: Config, status_dir: Path | None, ack_key: AckKey | None) -> TrustList:
    """:func:`trust_list` with the fleet state's list, when one is held and verifies."""
    state = None
    if status_dir is not None and ack_key is not None:
        state = fleetstate.load(status_dir, ack_key)
    return trust_list(config, state.twoddoc_trust_list if state is not None else None)


def read_codes(image: Any, trust: TrustList | Callable[[], TrustList], *,
               thorough: bool = True) -> PageReading:
    """Every 2D-Doc on ``image`` (numpy or PIL), parsed and checked. Raises ValueError for
    what is not an image. ``trust`` may be a function: it is then called only when a
    2D-Doc was found (most pages have none).

    ``thorough=False`` makes only the three cheapest tries of the code reader
    (drivers/codes/decode.py): what the page checker does on the kiosk, where
    a page with no code would otherwise cost every retry (about 2 s of CPU on
    a 300 dpi page, taken from the capture loop's two cores) for nothing."""
    reading = PageReading()
    trusted: TrustList | None = None if callable(trust) else trust
    for code in decode_image(image, formats=["DataMatrix"], thorough=thorough):
        raw = code.raw if code.raw is not None else code.text.encode("latin-1", "replace")
        if not twoddoc.looks_like_2ddoc(raw):
            continue
        try:
            doc = twoddoc.parse(raw)
        except TwoDDocError as exc:
            reading.problems.append(f"a 2D-Doc that cannot be read ({exc.problem}): {exc}")
            continue
        if trusted is None:
            assert callable(trust)
            trusted = trust()
        reading.codes.append(PageCode(doc, twoddoc.verify(doc, trusted)))
    return reading


def read_page(image: Any, trust: TrustList) -> PageReading:
    """:func:`read_codes` on a whole picture (a scan, a photo); when it finds no 2D-Doc, on
    the page the scanner finds and rectifies in it, as the kiosk's capture does."""
    reading = read_codes(image, trust)
    if reading.codes:
        return reading
    import scanner  # OpenCV's page finder: only when it is needed

    grey = to_grey(image)
    result = scanner.process_still(grey)
    if result.page is None:
        return reading
    rectified = read_codes(result.page.image, trust)
    rectified.problems = reading.problems + rectified.problems
    return rectified


class PageChecker:
    """Reads the 2D-Doc of each captured page on its own thread, one page at a time.

    :meth:`submit` returns at once (the capture worker calls it); the records
    land in the page's ``meta`` and a :class:`~kiosk.journey.PageChecked` is
    posted. A page wiped meanwhile (the session moved on) is dropped unread.
    """

    def __init__(self, session: Session, post: Callable[[PageChecked], None],
                 trust: Callable[[], TrustList]) -> None:
        self._session = session
        self._post = post
        self._trust = trust
        self._queue: queue.SimpleQueue[tuple[str, npt.NDArray[np.uint8], int] | None] = \
            queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="2d-doc", daemon=True)
        self._thread.start()
        #: Time per page of the last :data:`KEPT_TIMES` pages, for the figures (bounded: a kiosk
        #: runs for years).
        self.seconds: list[float] = []

    def submit(self, page_id: str, image: npt.NDArray[np.uint8], generation: int) -> None:
        self._queue.put((page_id, image, generation))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            page_id, image, generation = item
            if generation != self._session.generation or self._session.get(page_id) is None:
                continue
            started = time.perf_counter()
            try:
                # Read again for each page that holds a code (the fleet state's signature
                # checked, the lists parsed: a few ms), so that a list just brought counts.
                reading = read_codes(image, self._trust, thorough=False)
            except Exception:   # a bug here must not stop the checks of later pages
                log.exception("2D-Doc check of a page failed")
                continue
            finally:
                del image
            self.seconds.append(time.perf_counter() - started)
            del self.seconds[:-KEPT_TIMES]
            page = self._session.get(page_id)
            if page is None or generation != self._session.generation:
                continue
            page.meta[META_KEY] = [c.record() for c in reading.codes]
            for problem in reading.problems:
                log.warning("page %s: %s", page_id, problem)
            outcomes = [c.outcome.value for c in reading.codes]
            if outcomes:
                log.info("page %s: 2D-Doc %s (%.0f ms)", page_id, ", ".join(outcomes),
                         self.seconds[-1] * 1000)
            self._post(PageChecked(page_id, authenticated=reading.authenticated,
                                   invalid=any(c.outcome is Outcome.INVALID
                                               for c in reading.codes)))
