"""Every numeric constant of scanner/ says where its value came from (issue #17).

A threshold whose origin is lost cannot be moved safely: nobody knows whether
it was calibrated (and on what), chosen by hand, or is a fact of the world. So
every module-level or class-level UPPER_CASE constant of ``scanner/`` whose
value holds a number must carry a comment, on one of its own lines or on the
comment line(s) directly above it, saying where the value came from (the
calibration run, "chosen by hand and checked on ...", or the physical or
format fact). What the comment says is for review; this test checks it is
there, on every module's syntax tree.

Exempt, because their values are not loose constants: the fields of a
dataclass (a parameters object such as ``scanner.detectparams.DetectorParams``
or ``QualityThresholds``, whose origin its docstring and its sets carry) and
the members of an enum (codes, not thresholds).
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNER = REPO / "scanner"

UPPER = re.compile(r"^_*[A-Z][A-Z0-9_]*$")

#: Constants allowed to lack their comment for a while (file -> names; empty: none is). Each
#: entry is checked to be still needed, so the list can only shrink. Nothing else is skipped.
NOT_YET: dict[str, set[str]] = {}


def _is_numeric(value: ast.expr) -> bool:
    """Does the value hold a number literal (not a bool) and no string?"""
    numbers = strings = False
    for node in ast.walk(value):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str | bytes):
                strings = True
            elif isinstance(node.value, int | float | complex) \
                    and not isinstance(node.value, bool):
                numbers = True
    return numbers and not strings


def _decorator_names(cls: ast.ClassDef) -> set[str]:
    names = set()
    for dec in cls.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _is_enum(cls: ast.ClassDef) -> bool:
    bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
             for b in cls.bases}
    return any(b.endswith(("Enum", "Flag")) for b in bases)


def _is_class_var(annotation: ast.expr) -> bool:
    return "ClassVar" in ast.unparse(annotation)


def _constants(body: list[ast.stmt], in_dataclass: bool = False
               ) -> Iterator[tuple[str, ast.stmt]]:
    """(name, statement) of each UPPER_CASE numeric constant of a module's or class's body."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            if not _is_enum(stmt):
                yield from _constants(stmt.body, "dataclass" in _decorator_names(stmt))
            continue
        if isinstance(stmt, ast.Assign) and _is_numeric(stmt.value):
            names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            names += [e.id for t in stmt.targets if isinstance(t, ast.Tuple)
                      for e in t.elts if isinstance(e, ast.Name)]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None \
                and isinstance(stmt.target, ast.Name) and _is_numeric(stmt.value):
            if in_dataclass and not _is_class_var(stmt.annotation):
                continue                            # a field of a parameters object
            names = [stmt.target.id]
        else:
            continue
        for name in names:
            if UPPER.match(name):
                yield name, stmt


def _comments(source: str) -> tuple[set[int], set[int]]:
    """Lines holding a comment with some text, and those holding nothing else."""
    anywhere: set[int] = set()
    alone: set[int] = set()
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and tok.string.lstrip("#:").strip():
            row = tok.start[0]
            anywhere.add(row)
            if not lines[row - 1][: tok.start[1]].strip():
                alone.add(row)
    return anywhere, alone


def uncommented(source: str) -> list[tuple[int, str]]:
    """(line, name) of the numeric constants of a module without a comment saying anything."""
    tree = ast.parse(source)
    anywhere, alone = _comments(source)
    missing = []
    for name, stmt in _constants(tree.body):
        end = stmt.end_lineno or stmt.lineno
        own = any(row in anywhere for row in range(stmt.lineno, end + 1))
        above = stmt.lineno - 1 in alone
        if not (own or above):
            missing.append((stmt.lineno, name))
    return missing


def scanner_modules() -> list[Path]:
    return sorted(SCANNER.rglob("*.py"))


# ------------------------------------------------------------------------ the checker itself

def test_a_constant_without_a_comment_is_named_and_a_commented_one_is_not() -> None:
    source = textwrap.dedent("""\
        BARE = 0.35
        TRAILING = 0.5          # chosen by hand, checked on seeds 40000+
        #: calibrated by python -m benchmarks.calibrate_scanner (seeds 20000+)
        ABOVE = (1.6, 122)
        # a format fact:
        # A4 in millimetres
        A4 = (210.0,
              297.0)
        SPLIT = (
            0.2)                # a comment on a later line of the statement counts
        #
        EMPTY_COMMENT = 3
        lower_case = 0.5
        NAME = "not a number"
        DERIVED = OTHER.value
        SCALED = OTHER * 2
        FLAG = True
    """)
    assert uncommented(source) == [(1, "BARE"), (12, "EMPTY_COMMENT"), (16, "SCALED")]


def test_a_comment_separated_by_a_blank_line_does_not_count() -> None:
    source = "# about something else\n\nLIMIT = 4\n"
    assert uncommented(source) == [(3, "LIMIT")]


def test_class_constants_are_checked_and_parameter_fields_and_enum_members_exempt() -> None:
    source = textwrap.dedent("""\
        import enum
        from dataclasses import dataclass
        from typing import ClassVar

        class Evidence:
            BASE_RATE = 0.35
            PENALTY = 0.3       # chosen by hand

        @dataclass(frozen=True)
        class Params:
            BAND: float = 2.0
            LIMIT: ClassVar[float] = 4.0

        class Code(enum.IntEnum):
            LOW = 1
    """)
    assert uncommented(source) == [(6, "BASE_RATE"), (12, "LIMIT")]


# ------------------------------------------------------------------------ scanner/

def test_every_numeric_constant_of_the_scanner_says_where_it_came_from() -> None:
    modules = scanner_modules()
    assert len(modules) > 10, f"scanner/ not found at {SCANNER}"
    missing = []
    for path in modules:
        rel = path.relative_to(REPO).as_posix()
        allowed = NOT_YET.get(rel, set())
        missing += [f"{rel}:{line}: {name}" for line, name in
                    uncommented(path.read_text(encoding="utf-8")) if name not in allowed]
    assert not missing, ("numeric constants without a comment saying where the value came "
                         "from (the calibration run, the hand choice and what it was checked "
                         "on, or the physical fact):\n" + "\n".join(missing))


def test_the_list_of_constants_left_to_their_owners_holds_only_what_is_still_missing() -> None:
    stale = []
    for rel, names in NOT_YET.items():
        path = REPO / rel
        if not path.exists():
            stale.append(f"{rel}: no such module")
            continue
        still = {name for _, name in uncommented(path.read_text(encoding="utf-8"))}
        stale += [f"{rel}: {name} has its comment now" for name in sorted(names - still)]
    assert not stale, "take these off NOT_YET:\n" + "\n".join(stale)
