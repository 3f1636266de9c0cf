"""A citizen at the real touchscreen (Kivy under Xvfb), with the simulated camera and printer.

Every tap goes through the window to a real widget; pages are laid on the
simulated tray and taken by auto-capture; what is sealed is really encrypted
into the outbox. After each wipe (completion, cancel, timeout) the tests walk
every widget of every screen and every file the kiosk could have written,
looking for what the citizen left.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kiosk.catalog import convocation_url
from kiosk.config import SessionSection
from kiosk.journey import Overlay, ReceiptPhase, Step

if TYPE_CHECKING:
    from devtools.citizen import AtTheKiosk, Citizen

pytestmark = pytest.mark.ui

SENTINEL = "kzq8w7v3x9"          # typed into the contact field; must end up nowhere in clear


def citizen(kiosk: AtTheKiosk) -> Citizen:
    from devtools.citizen import Citizen
    return Citizen(kiosk)


def show_convocation(kiosk, procedure: str, reference: str, documents=()) -> None:
    """The convocation's QR code held under the (simulated) code reader."""
    citizen(kiosk).show_code(convocation_url("rdv.example.fr", procedure, reference, documents))
    kiosk.driver.wait_for_step(Step.CHECKLIST)


def decrypt_payload(kiosk, deposit_id: str) -> dict[str, bytes]:
    """The files inside the envelope the outbox holds for ``deposit_id``."""
    from deposit.envelope import decrypt

    entry = kiosk.runtime.outbox.get(deposit_id)
    plain = io.BytesIO()
    with entry.envelope_path.open("rb") as src:
        decrypt(src, plain, [kiosk.identity])
    plain.seek(0)
    with tarfile.open(fileobj=plain) as archive:
        # extractfile gives None only for members that are not regular files
        return {m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
                for m in archive.getmembers() if m.isfile()}


def assert_nothing_left(kiosk, secrets: list[str]) -> None:
    """No screen, widget or property holds what the last citizen saw or typed."""
    from kiosk.ui.widgets import ImageSurface

    root = kiosk.app.root
    widgets = [root, *root.walk(restrict=True)]
    for screen in root.screens.values():
        widgets += list(screen.walk(restrict=True))
    checked = 0
    for widget in widgets:
        for name in widget.properties():
            value = getattr(widget, name)
            text = value if isinstance(value, str) else repr(value)
            for secret in secrets:
                assert secret not in text, f"{type(widget).__name__}.{name} still holds {secret!r}"
            checked += 1
        if isinstance(widget, ImageSurface):
            assert widget.texture is None, f"{widget} still holds a picture"
    assert checked > 1000, "the walk saw too few properties to mean anything"
    assert len(kiosk.runtime.session) == 0
    assert kiosk.runtime.controller.current.sealed is None
    capture = kiosk.runtime.controller.capture
    assert capture is None or capture.latest_preview() is None
    state = kiosk.runtime.controller.state
    assert state.step is Step.WELCOME and state.language == "fr" and not state.in_session


def assert_no_file_holds(folders: list[Path], secret: str) -> int:
    """Every file under ``folders`` is free of ``secret``; returns how many were read.

    pytest's own folders of other tests (``pytest-of-*``) are skipped, except this test's
    kiosk data folder, which is named explicitly."""
    needle = secret.encode()
    read = 0
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not (path.relative_to(folder).parts[0].startswith("pytest-of-")
                                       and folder == Path(tempfile.gettempdir())):
                assert needle not in path.read_bytes(), f"{path} holds the typed text"
                read += 1
    return read


def kiosk_folders(kiosk_data: Path) -> list[Path]:
    import os
    return [kiosk_data, Path(os.environ["KIVY_HOME"]), Path(tempfile.gettempdir())]


# ----------------------------------------------------------------------------- deposits


def test_a_deposit_of_three_documents_takes_at_most_twelve_taps(make_kiosk) -> None:
    kiosk = make_kiosk()
    person = citizen(kiosk)
    driver = kiosk.driver
    person.tap("start")
    person.tap("choose", "listes-electorales")
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["text", "tax-notice"])         # identity: two sides
    person.capture_document(["proof-of-address"])
    person.capture_document(["payslip"], last=True)
    driver.wait_for_step(Step.REVIEW)
    assert [len(d.pages) for d in driver.state.documents] == [2, 1, 1]
    person.tap("continue")
    person.tap("continue")
    person.tap("send")
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                      "the receipt to be printed")
    deposit_id = driver.state.deposit.deposit_id
    person.tap("finish")
    person.tap("rate", 3)
    driver.wait_for_step(Step.WELCOME)
    assert driver.taps <= 12, f"{driver.taps} taps"
    payload = decrypt_payload(kiosk, deposit_id)
    assert set(payload) == {"deposit.json", "dossier.pdf"}
    assert payload["dossier.pdf"].count(b"/Type /Page\n") + \
        payload["dossier.pdf"].count(b"/Type /Page ") >= 5          # cover + 4 pages
    printed = kiosk.runtime.printer.simulator.pngs
    assert len(printed) == 1 and printed[0].stat().st_size > 1000
    assert_nothing_left(kiosk, [deposit_id])


def test_with_a_convocation_a_deposit_takes_at_most_nine_taps(make_kiosk) -> None:
    kiosk = make_kiosk()
    person = citizen(kiosk)
    driver = kiosk.driver
    show_convocation(kiosk, "listes-electorales", "EL-2025-0042")
    assert driver.state.case_reference == "EL-2025-0042"
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["text", "tax-notice"])
    person.capture_document(["proof-of-address"])
    person.capture_document(["payslip"], last=True)
    person.tap("continue")
    person.tap("continue")
    person.tap("send")
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                      "the receipt to be printed")
    person.tap("finish")
    assert driver.taps <= 9, f"{driver.taps} taps"
    # The satisfaction question is optional: left alone, the screen clears itself.
    kiosk.offset_clock.advance(60)
    driver.wait_for_step(Step.WELCOME)


def test_paper_out_during_print_shows_receipt_on_screen_and_prints_again(make_kiosk) -> None:
    kiosk = make_kiosk()
    person = citizen(kiosk)
    driver = kiosk.driver
    show_convocation(kiosk, "listes-electorales", "EL-1", ["address"])
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["proof-of-address"], last=True)
    person.tap("continue")
    person.tap("continue")
    kiosk.runtime.printer.simulator.set(paper="out")
    person.tap("send")
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.ON_SCREEN, 60,
                      "the receipt on screen")
    screen = driver.app.root.current_screen
    assert screen.ids.paper.texture is not None        # the receipt, QR code included
    assert screen.ids.paper.texture.size[0] >= 400
    assert "paper" in driver.describe().lower() or "papier" in driver.describe().lower()
    assert driver.state.deposit.deposit_id in driver.describe()
    kiosk.runtime.printer.simulator.set(paper="ok")
    person.tap("print_again")
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                      "the reprint")
    assert len(kiosk.runtime.printer.simulator.pngs) == 1


# ----------------------------------------------------------------------------- wipes


def reach_contact_with_sentinel(kiosk) -> None:
    person = citizen(kiosk)
    driver = kiosk.driver
    show_convocation(kiosk, "listes-electorales", "EL-77", ["address"])
    person.tap("language", "en")
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["proof-of-address"], last=True)
    person.tap("continue")
    driver.wait_for_step(Step.CONTACT)
    person.type_contact(email=f"{SENTINEL}@x.fr")
    assert SENTINEL in driver.describe()


def test_cancel_asks_then_wipes_everything_the_citizen_left(make_kiosk, kiosk_data) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    reach_contact_with_sentinel(kiosk)
    driver.tap_action("cancel")
    assert driver.state.overlay is Overlay.CANCEL
    driver.tap_action("cancel_abort")
    assert driver.state.step is Step.CONTACT and SENTINEL in driver.describe()
    driver.tap_action("cancel")
    driver.tap_action("cancel_confirm")
    driver.wait_for_step(Step.WELCOME)
    assert_nothing_left(kiosk, [SENTINEL, "EL-77"])
    assert assert_no_file_holds(kiosk_folders(kiosk_data), SENTINEL) > 0


def test_inactivity_warns_then_wipes(make_kiosk, kiosk_data) -> None:
    kiosk = make_kiosk(session=SessionSection(inactivity=60, warning=30))
    driver = kiosk.driver
    reach_contact_with_sentinel(kiosk)
    kiosk.offset_clock.advance(41)      # a 60 s timeout warns in its last third
    driver.wait_until(lambda: driver.state.overlay is Overlay.TIMEOUT, 5, "the warning")
    assert "more time" in driver.describe()
    driver.tap_action("more_time")
    assert driver.state.overlay is None and driver.state.step is Step.CONTACT
    kiosk.offset_clock.advance(61)
    driver.wait_for_step(Step.WELCOME, timeout=10)
    assert_nothing_left(kiosk, [SENTINEL, "EL-77"])
    assert assert_no_file_holds(kiosk_folders(kiosk_data), SENTINEL) > 0


def test_a_completed_deposit_keeps_the_contact_only_inside_the_envelope(make_kiosk,
                                                                         kiosk_data) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    reach_contact_with_sentinel(kiosk)
    driver.tap_action("consent")
    driver.tap_action("continue")
    driver.wait_for_step(Step.CONFIRM)
    driver.tap_action("send")
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                      "the receipt")
    deposit_id = driver.state.deposit.deposit_id
    body = decrypt_payload(kiosk, deposit_id)["deposit.json"]
    assert f"{SENTINEL}@x.fr".encode() in body
    driver.tap_action("finish")
    driver.tap_action("finish")
    driver.wait_for_step(Step.WELCOME)
    assert_nothing_left(kiosk, [SENTINEL, "EL-77", deposit_id])
    assert assert_no_file_holds(kiosk_folders(kiosk_data), SENTINEL) > 0


# ----------------------------------------------------------------------------- device trouble


def test_camera_lost_during_capture_says_out_of_order_and_keeps_the_pages(make_kiosk) -> None:
    kiosk = make_kiosk()
    person = citizen(kiosk)
    driver = kiosk.driver
    show_convocation(kiosk, "listes-electorales", "EL-9", ["identity", "address"])
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["text"])
    kiosk.camera.unplug()
    driver.wait_until(lambda: driver.state.out_of_order, 20, "out of order")
    assert "agent" in driver.describe().lower()
    assert len(driver.state.documents[0].pages) == 1 and len(kiosk.runtime.session) == 1
    person.tap("call_agent")
    status = kiosk.runtime.status_dir / "agent.json"
    assert '"step": "capture"' in status.read_text()
    kiosk.camera.plug()                                      # plugged back: the journey goes on
    driver.wait_until(lambda: not driver.state.out_of_order, 30, "the camera back")
    person.clear_tray()
    person.lay_page("proof-of-address")
    assert len(driver.state.documents[1].pages) == 1 and len(kiosk.runtime.session) == 2


def test_disk_budget_short_refuses_new_deposits_at_welcome(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    kiosk.runtime.outbox.reserve_bytes = 1 << 60             # more than any disk
    kiosk.runtime.check_devices()
    driver.wait_until(lambda: not driver.state.accepting, 10, "the refusal")
    driver.idle(3)
    text = driver.describe()
    assert "storage is full" in text or "mémoire est pleine" in text
    start = driver.app.root.current_screen.ids.start
    assert start.disabled
    driver.tap(start)
    assert driver.state.step is Step.WELCOME


def test_a_foreign_code_says_it_is_not_a_convocation_and_nothing_else(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    citizen(kiosk).show_code("https://www.impots.gouv.fr/")
    driver.wait_until(lambda: driver.state.notice is not None, 10, "the notice")
    assert "pas une convocation" in driver.describe()
    assert driver.state.step is Step.WELCOME and driver.state.procedure is None
    kiosk.runtime.code_reader.reader.simulator.inject_bytes(b"\xff\xfe\x00garbage\r\n")
    driver.run_for(0.5)
    assert driver.state.step is Step.WELCOME


# ----------------------------------------------------------------------------- screen rules


def test_a_language_switch_redraws_every_label(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    driver.tap_action("start")
    driver.tap_action("choose", "rsa")
    french = driver.describe()
    assert "Préparez ces papiers" in french and "Revenu de solidarité active" in french
    driver.tap_action("language", "en")
    english = driver.describe()
    assert "Have these papers ready" in english and "Earned income supplement" in english
    assert "Préparez" not in english and "Obligatoire" not in english
    driver.tap_action("back")
    assert "What have you come for?" in driver.describe()


def test_every_button_is_at_least_fifteen_millimetres(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    theme = driver.app.theme
    seen = 0

    def check_screen() -> None:
        nonlocal seen
        for widget in driver.tappables():
            assert min(widget.size) >= theme.target - 0.5, \
                f"{type(widget).__name__} {getattr(widget, 'text', '')!r} is {widget.size}"
            seen += 1

    check_screen()
    driver.tap_action("start")
    check_screen()
    driver.tap_action("choose", "caf-aide-logement")
    check_screen()
    driver.tap_action("help")
    check_screen()
    driver.tap_action("close")
    assert seen > 20 and theme.target >= theme.px(15) - 0.5
