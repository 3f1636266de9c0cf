"""The kiosk's application layer stays in modules of one responsibility, typed at its seams.

- No module of kiosk/ over 500 lines, but the journey (a state machine whose size is
  its table of steps).
- The collaborators the composition root (kiosk/runtime.py) builds and wires take no
  ``Any`` in their constructors: each seam is a Protocol or a concrete type.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path

import pytest

from deposit.ids import DepositIdGenerator
from deposit.outbox import Outbox
from deposit.outbox import Sealer as OutboxSealer
from kiosk.capture import CaptureWorker
from kiosk.controller import CodeReaderThread, Controller
from kiosk.journey import Journey
from kiosk.nudge import Nudger
from kiosk.receipts import ReceiptService
from kiosk.runtime import Runtime, SealingKeys
from kiosk.sealing import DepositService
from kiosk.signals import AgentSignal, SatisfactionLog
from kiosk.uploading import UploaderService
from printer.service import ReceiptPrinter

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"
MAX_LINES = 500
EXEMPT = {"journey.py"}

#: Every class kiosk/runtime.py (and the uploader's loop) builds and wires together.
COLLABORATORS = [Runtime, SealingKeys, Controller, CaptureWorker, DepositService,
                 ReceiptService, AgentSignal, SatisfactionLog, CodeReaderThread, Nudger,
                 Journey, UploaderService, Outbox, OutboxSealer, DepositIdGenerator,
                 ReceiptPrinter]


def test_no_module_of_the_kiosk_is_over_five_hundred_lines_but_the_journey() -> None:
    sizes = {str(p.relative_to(KIOSK)): len(p.read_text(encoding="utf-8").splitlines())
             for p in KIOSK.rglob("*.py")}
    assert len(sizes) > 20, "the scan found too few modules to mean anything"
    over = {name: lines for name, lines in sizes.items()
            if lines > MAX_LINES and Path(name).name not in EXEMPT}
    assert over == {}


def mentions_any(hint: object) -> bool:
    if hint is typing.Any:
        return True
    return any(mentions_any(arg) for arg in typing.get_args(hint))


def constructor_hints(cls: type) -> dict[str, object]:
    """The resolved annotations of what ``cls(...)`` takes (a dataclass's fields or
    ``__init__``'s parameters)."""
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}
    init = cls.__init__  # type: ignore[misc]
    hints = typing.get_type_hints(init)
    names = [p for p in inspect.signature(init).parameters if p != "self"]
    missing = [n for n in names if n not in hints]
    assert not missing, f"{cls.__name__}.__init__ leaves {missing} unannotated"
    return {n: hints[n] for n in names}


@pytest.mark.parametrize("cls", COLLABORATORS, ids=lambda c: c.__name__)
def test_the_runtimes_collaborators_take_no_any(cls: type) -> None:
    hints = constructor_hints(cls)
    assert hints, f"{cls.__name__} takes nothing: is it still a collaborator?"
    assert {name for name, hint in hints.items() if mentions_any(hint)} == set()


def test_the_check_finds_an_any() -> None:
    class Loose:
        def __init__(self, outbox: typing.Any, ids: list[typing.Any] | None) -> None:
            pass

    assert {n for n, h in constructor_hints(Loose).items() if mentions_any(h)} == \
        {"outbox", "ids"}
