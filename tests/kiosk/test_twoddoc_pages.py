"""The 2D-Doc of captured pages at the kiosk: the page checker reads it off the capture loop,
keeps the records with the page, tells the journey; the journey marks the page authenticated
wherever the citizen is by then; a page wiped meanwhile is never read."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import numpy as np

from devtools.twoddoc_samples import encode, page_with_code
from kiosk.journey import Action, PageChecked, PageRef, Step
from kiosk.session import Session, StoredPage
from kiosk.twoddocs import META_KEY, PageChecker, read_codes
from tests.kiosk.test_journey import Driver
from tests.twoddoc.kit import fr00_key, fr00_trust

FIELDS = {"10": "MME/SPECIMEN/NATACHA", "24": "75000", "25": "PARIS"}


def stored(session: Session) -> StoredPage:
    page = StoredPage(id=Session.new_page_id(), document="address", encoded=None,
                      data=bytearray(b"x"), preview=np.zeros((4, 4, 3), np.uint8),
                      thumbnail=np.zeros((2, 2, 3), np.uint8))
    assert session.add(page)
    return page


def test_the_checker_keeps_the_records_with_the_page_and_tells_the_journey(
        twoddoc_data: Path) -> None:
    session = Session()
    events: list[PageChecked] = []
    arrived = threading.Event()

    def post(event: PageChecked) -> None:
        events.append(event)
        arrived.set()

    checker = PageChecker(session, post, fr00_trust)
    try:
        page = stored(session)
        picture = page_with_code(encode(fr00_key(), FIELDS, signed=date(2014, 6, 2)))
        checker.submit(page.id, picture, session.generation)
        assert arrived.wait(20)
    finally:
        checker.close()
    assert events == [PageChecked(page.id, authenticated=True, invalid=False)]
    (record,) = page.meta[META_KEY]
    assert record["signature"] == "valid" and record["fields"] == FIELDS
    assert len(checker.seconds) == 1


def test_a_page_wiped_before_its_turn_is_never_read(twoddoc_data: Path) -> None:
    session = Session()
    events: list[PageChecked] = []
    checker = PageChecker(session, events.append, fr00_trust)
    try:
        page = stored(session)
        generation = session.generation
        session.wipe()
        picture = page_with_code(encode(fr00_key(), FIELDS, signed=date(2014, 6, 2)))
        checker.submit(page.id, picture, generation)
    finally:
        checker.close()
    assert events == [] and checker.seconds == []


def test_a_tampered_code_is_not_authenticated_and_is_marked_invalid(twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), FIELDS, signed=date(2014, 6, 2)).replace(b"PARIS", b"NANCY")
    reading = read_codes(page_with_code(payload), fr00_trust(), thorough=False)
    assert [c.outcome.value for c in reading.codes] == ["invalid"]
    assert not reading.authenticated


def test_the_journey_marks_the_checked_page_even_after_the_citizen_moved_on() -> None:
    d = Driver()
    d.to_capture()
    first = d.page()
    d.tap(Action.NEXT)
    assert d.state.step is Step.CAPTURE and d.state.current == 1
    d.send(PageChecked(first.id, authenticated=True))
    assert d.state.documents[0].pages == (PageRef(first.id, authenticated=True),)
    before = d.state
    d.send(PageChecked("pg-not-held", authenticated=True))      # retaken, or wiped: nothing
    assert d.state is before
