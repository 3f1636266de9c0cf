"""The decisions a dossier can take, as a state machine (backoffice/decisions.py)."""

from __future__ import annotations

import itertools

import pytest

from backoffice import decisions
from backoffice.errors import DecisionError
from backoffice.status import DossierStatus

S = DossierStatus
MOTIVE = "Le justificatif de domicile date de plus de trois mois."

#: The issue's machine, written out again here so that a change to the table is a decision.
ALLOWED = {(S.RECEIVED, S.IN_REVIEW), (S.IN_REVIEW, S.INCOMPLETE), (S.IN_REVIEW, S.ACCEPTED),
           (S.IN_REVIEW, S.REJECTED), (S.IN_REVIEW, S.CLOSED), (S.INCOMPLETE, S.IN_REVIEW),
           (S.INCOMPLETE, S.CLOSED)}


@pytest.mark.parametrize(("current", "new"), sorted(itertools.product(S, S)))
def test_only_the_moves_of_the_machine_are_allowed(current: S, new: S) -> None:
    if (current, new) in ALLOWED:
        assert decisions.check(current, new, MOTIVE) == MOTIVE
    else:
        with pytest.raises(DecisionError, match=f"cannot become {new.words}"):
            decisions.check(current, new, MOTIVE)


def test_final_decisions_lead_nowhere_and_say_so() -> None:
    for final in (S.ACCEPTED, S.REJECTED, S.CLOSED):
        assert final.final and decisions.allowed(final) == []
        with pytest.raises(DecisionError, match="nothing \\(it is final\\)"):
            decisions.check(final, S.IN_REVIEW, "")


@pytest.mark.parametrize(("new", "says"), [(S.REJECTED, "why it is rejected"),
                                           (S.INCOMPLETE, "which documents are missing")])
def test_a_rejection_or_an_incomplete_dossier_needs_its_motive(new: S, says: str) -> None:
    for empty in ("", "   \n\t "):
        with pytest.raises(DecisionError, match=says):
            decisions.check(S.IN_REVIEW, new, empty)
    assert decisions.check(S.IN_REVIEW, new, MOTIVE) == MOTIVE


def test_other_decisions_need_no_message() -> None:
    assert decisions.check(S.IN_REVIEW, S.ACCEPTED, "") == ""
    assert decisions.check(S.RECEIVED, S.IN_REVIEW, "") == ""


def test_a_message_keeps_its_line_breaks_in_one_form() -> None:
    message = "Il manque :\r\n- le justificatif de domicile ;\r\n- l'avis d'imposition."
    assert decisions.check(S.IN_REVIEW, S.INCOMPLETE, message) == message.replace("\r\n", "\n")


@pytest.mark.parametrize(("message", "kind"), [
    ("Écrivez-nous à jean.dupont@example.fr pour la suite.", "e-mail"),
    ("Rappelez le 06 12 34 56 78 avant vendredi.", "phone"),
    ("Le virement ira sur FR76 3000 6000 0112 3456 7890 189.", "IBAN"),
])
def test_a_message_with_personal_data_is_refused_with_the_reason(message: str,
                                                                 kind: str) -> None:
    with pytest.raises(DecisionError, match="refused") as refused:
        decisions.check(S.IN_REVIEW, S.REJECTED, message)
    assert kind.lower() in str(refused.value).lower()
    for secret in ("jean.dupont@example.fr", "06 12 34 56 78", "3456 7890"):
        assert secret not in str(refused.value)          # the reason never repeats the value
