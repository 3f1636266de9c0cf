"""The import layering of DESIGN.md ("Packages"), checked on every module's syntax tree.

Arrows point one way: drivers, scanner, printer and deposit never import kiosk
or backoffice; only kiosk/ui imports Kivy; backoffice imports deposit and
nothing else of the project; only deposit and backoffice touch
cryptography.hazmat, and twoddoc (the 2D-Doc reader, a pure package that imports
nothing of the project) for its ECDSA check over raw r || s, which only the hazmat
layer offers (twoddoc/__init__.py). ``devtools`` (the demo, the UI driver, sample generators)
may import anything, and no product package may import it: it never ships on a
kiosk.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT = ["drivers", "scanner", "printer", "deposit", "twoddoc", "kiosk", "backoffice", "assets",
           "devtools"]

#: package -> project packages it may import (besides itself)
ALLOWED = {
    "drivers": {"assets"},
    "scanner": set(),
    # printer prints through drivers; a deposit's number reaches it by its shape
    # (printer.receipt.DepositNumber), deposit.ids owning the numbers for the back office.
    "printer": {"drivers", "assets"},
    "deposit": set(),
    # 2D-Doc parsing and verification: pure (stdlib and cryptography), read by the kiosk
    # and by the staff workspace alike.
    "twoddoc": set(),
    "kiosk": {"drivers", "scanner", "printer", "deposit", "twoddoc", "assets"},
    "backoffice": {"deposit", "twoddoc", "assets"},
    "assets": set(),
    # development tooling: drives the real interface, starts back offices, draws samples
    "devtools": {"drivers", "scanner", "printer", "deposit", "twoddoc", "kiosk", "backoffice",
                 "assets"},
}


#: The packages that may import cryptography.hazmat: devtools too, which signs the test
#: 2D-Docs of the tests and screenshots (devtools/twoddoc_samples.py) and never ships.
HAZMAT = ("deposit", "backoffice", "twoddoc", "devtools")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def project_files() -> list[Path]:
    return sorted(p for pkg in PROJECT for p in (REPO / pkg).rglob("*.py"))


def violations(path: Path) -> list[str]:
    rel = path.relative_to(REPO)
    package = rel.parts[0]
    in_ui = rel.parts[:2] == ("kiosk", "ui") or package == "devtools"
    bad = []
    for lineno, module in imported_modules(path):
        top = module.split(".")[0]
        where = f"{rel}:{lineno} imports {module}"
        if top in PROJECT and top != package and top not in ALLOWED[package]:
            bad.append(f"{where} ({package} may import only {sorted(ALLOWED[package]) or 'nothing'}"
                       " of the project)")
        if top == "kivy" and not in_ui:
            bad.append(f"{where} (only kiosk/ui/ may import Kivy)")
        if module.startswith("cryptography.hazmat") and package not in HAZMAT:
            bad.append(f"{where} (only {', '.join(HAZMAT)} may use cryptography.hazmat)")
        if module.startswith("cryptography.hazmat.bindings"):
            bad.append(f"{where} (private bindings of cryptography are not a public API)")
    return bad


def test_every_package_respects_the_layering_of_the_design() -> None:
    files = project_files()
    assert files, "no project file found: the test would check nothing"
    problems = [v for f in files for v in violations(f)]
    assert problems == []


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("drivers", "import kiosk.config\n", "may import only"),
        ("scanner", "from kivy.uix.label import Label\n", "only kiosk/ui/ may import Kivy"),
        ("backoffice", "from drivers import open_printer\n", "may import only"),
        ("printer", "from cryptography.hazmat.primitives import hashes\n", "cryptography.hazmat"),
        ("kiosk", "from devtools.kit import Citizen\n", "may import only"),
        ("twoddoc", "import kiosk.config\n", "may import only"),
        ("kiosk", "from cryptography.hazmat.primitives import hashes\n", "cryptography.hazmat"),
    ],
)
def test_layering_check_catches_a_forbidden_import(tmp_path: Path, package: str, source: str,
                                                    expected: str, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    fake_repo = tmp_path
    (fake_repo / package).mkdir()
    module = fake_repo / package / "bad.py"
    module.write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", fake_repo)
    found = violations(module)
    assert len(found) == 1 and expected in found[0]
