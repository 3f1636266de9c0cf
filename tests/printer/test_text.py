"""Word wrapping for a fixed-width printer, and what a code page can print."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from printer.text import (
    columns_text,
    display_width,
    fit_to_codec,
    plain_spaces,
    wrap,
)

NB = "\u00a0"


@settings(deadline=None)   # a shared, loaded machine: no per-example deadline
@given(st.text(alphabet=st.sampled_from("abcdeéèàçôœ€ -/?\u00a0\n"), max_size=300),
       st.integers(8, 64), st.integers(0, 4))
def test_wrapped_lines_never_exceed_the_width_and_keep_every_character(
        text: str, width: int, indent: int) -> None:
    lines = wrap(text, width, indent=indent)
    assert all(display_width(line) <= width for line in lines)
    squeeze = "".join(text.split())
    assert "".join("".join(lines).split()) == squeeze


def test_an_accent_typed_as_a_combining_mark_takes_one_column() -> None:
    decomposed = unicodedata.normalize("NFD", "Récépissé")
    assert len(decomposed) == 12
    assert display_width(decomposed) == 9
    assert wrap(decomposed, 9) == ["Récépissé"]


def test_a_no_break_space_holds_the_colon_to_its_word() -> None:
    text = f"Délai de traitement{NB}: 30 jours"
    lines = wrap(text, 20)
    assert lines[0] == "Délai de"
    assert lines[1].startswith(f"traitement{NB}:")
    assert plain_spaces(lines[1]).startswith("traitement :")


def test_words_wrap_with_a_hanging_indent() -> None:
    assert wrap("Démarche : Aide personnalisée au logement", 20, indent=2) == [
        "Démarche : Aide", "  personnalisée au", "  logement"]


def test_a_long_url_is_cut_after_its_slashes() -> None:
    url = "https://suivi.example.fr/suivi/D3M0-01RZ-KNWS?t=q3Vd8kR2xN7pL0aZ5mWcYt"
    lines = wrap(url, 32)
    assert "".join(lines) == url
    assert lines[0].endswith("/") and lines[1].startswith("D3M0-01RZ-KNWS")


def test_the_detail_sits_at_the_right_margin_clear_of_the_wrapped_title() -> None:
    assert columns_text("- Pièce d’identité", "2 pages", 32) == [
        "- Pièce d’identité       2 pages"]
    lines = columns_text("- Justificatif de domicile de moins de 3 mois", "1 page", 32)
    assert lines[-1].endswith(" 1 page") and display_width(lines[-1]) == 32
    assert all(display_width(line) <= 32 - len("1 page") - 1 for line in lines[:-1])
    flat = " ".join(" ".join(lines).split())
    assert flat == "- Justificatif de domicile de moins de 3 mois 1 page"


def test_characters_a_code_page_lacks_get_look_alikes() -> None:
    text = "Œuvre « cœur » 25 € — l’été"
    assert fit_to_codec(text, "cp1252") == text
    assert fit_to_codec(text, "cp858") == "OEuvre « coeur » 25 € - l'été"
    assert fit_to_codec("25 € ŝ ☃", "cp437") == "25 EUR s ?"
    assert fit_to_codec(f"a{NB}b", "cp858") == "a b"
    assert fit_to_codec(f"a{NB}b", "cp858", keep_no_break=True) == f"a{NB}b"
