"""The legal facts of a procedure as the catalog holds them, and the checks of its contacts.

An accusé de réception (CRPA L112-3, R112-5) states whether the service's silence
means acceptance or rejection, after which delay, and the time limits of appeal;
the catalog (kiosk/catalog.py, which reads and checks the ``[legal]`` table of each
file) holds them per procedure as a :class:`Legal`. :class:`Silence` and
:class:`Delay` are deposit/legal.py's, shared with the back office. Contacts a
deployment still has to set are written ``[à compléter : …]`` (:func:`is_placeholder`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deposit.legal import Delay, Silence

if TYPE_CHECKING:                     # a Legal holds a catalog Texts; the catalog imports us
    from kiosk.catalog import Texts

#: A contact of the service the shipped catalog cannot know, to set per deployment.
PLACEHOLDER = re.compile(r"\[à compléter\b[^\]]*\]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class Legal:
    """The legal facts of a procedure, as the accusé de réception states them."""

    silence: Silence
    decision_delay: Delay | None        # None only when silence is NONE and no delay is set
    appeal: Texts | None                # means of appeal, before whom, and its time limits
    appeal_delay: Delay | None          # time limit of the first appeal after the decision


def is_placeholder(value: str) -> bool:
    """True for ``[à compléter : …]``, a contact a deployment has to set."""
    return bool(PLACEHOLDER.fullmatch(value.strip()))


def contact_problem(key: str, value: str) -> str | None:
    """What is wrong with the service's ``postal_address``, ``email`` or ``phone``; None if
    nothing (a placeholder is fine: it is listed, not refused)."""
    if not value.strip():
        return "must not be empty (write a placeholder '[à compléter : …]' for a local contact)"
    if is_placeholder(value):
        return None
    if "[" in value:
        return f"{value!r}: a placeholder is the whole value, '[à compléter : …]'"
    if key == "email" and not EMAIL.fullmatch(value.strip()):
        return f"{value!r} is not an e-mail address"
    if key == "phone" and sum(c.isdigit() for c in value) < 4:
        return f"{value!r} has fewer than 4 digits: not a phone number"
    return None
