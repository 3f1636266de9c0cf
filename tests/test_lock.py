"""The lock files requirements/*.txt match pyproject.toml, and the running environment matches
requirements/dev.txt.

bin/lock writes the locks; bin/setup installs requirements/dev.txt. A dependency added or
changed in pyproject.toml without running bin/lock, a lock edited by hand, or an environment
not installed from the lock fails here.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from requirements.pyproject_digest import HEADER_PREFIX, dependencies_digest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCKS = ("dev", "kiosk", "backoffice")
RELOCK = "run bin/lock (then bin/setup) and commit requirements/"


@dataclass(frozen=True)
class Pin:
    """One ``name==version ; marker`` line of a lock, with its hash options."""

    name: NormalizedName
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]
    line: str


def read_lock(path: Path) -> list[Pin]:
    """The pins of a pip requirements file as uv writes it (continuation lines, comments)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        pending += text
        if pending.strip():
            logical.append(pending.strip())
        pending = ""
    pins = []
    for line in logical:
        words = line.split()
        options = [w for w in words if w.startswith("--")]
        requirement = Requirement(" ".join(w for w in words if not w.startswith("--")))
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1, f"{path.name}: not one version: {line}"
        specifier = specifiers[0]
        assert specifier.operator == "==", f"{path.name}: not pinned with ==: {line}"
        pins.append(
            Pin(
                name=canonicalize_name(requirement.name),
                version=Version(specifier.version),
                marker=requirement.marker,
                hashes=tuple(o.removeprefix("--hash=") for o in options if o.startswith("--hash=")),
                line=line,
            )
        )
    return pins


def lock_path(name: str) -> Path:
    return ROOT / "requirements" / f"{name}.txt"


def versions(pins: list[Pin]) -> dict[NormalizedName, set[Version]]:
    """Each package's pinned versions (several only where markers split them)."""
    found: dict[NormalizedName, set[Version]] = defaultdict(set)
    for pin in pins:
        found[pin.name].add(pin.version)
    return found


def direct_requirements(lock: str) -> list[Requirement]:
    """What pyproject.toml asks of a lock: base, its extras, and the build backend."""
    with PYPROJECT.open("rb") as f:
        pyproject = tomllib.load(f)
    project = pyproject["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    wanted = list(project["dependencies"]) + list(pyproject["build-system"]["requires"])
    if lock == "dev":
        for reqs in extras.values():
            wanted += reqs
    else:
        wanted += extras[lock]
    own = canonicalize_name(project["name"])
    return [r for r in map(Requirement, wanted) if canonicalize_name(r.name) != own]


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_records_the_dependencies_of_pyproject(lock: str) -> None:
    recorded = [
        line.removeprefix(HEADER_PREFIX).strip()
        for line in lock_path(lock).read_text(encoding="utf-8").splitlines()
        if line.startswith(HEADER_PREFIX)
    ]
    assert recorded == [dependencies_digest(PYPROJECT)], (
        f"requirements/{lock}.txt was not made from the dependencies of pyproject.toml as they "
        f"are now: {RELOCK}"
    )


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_pins_every_direct_requirement_within_its_specifier(lock: str) -> None:
    pinned = versions(read_lock(lock_path(lock)))
    problems = []
    for requirement in direct_requirements(lock):
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            problems.append(f"{requirement} is not pinned")
            continue
        for version in sorted(pinned[name]):
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement} is pinned at {version}")
    assert not problems, f"requirements/{lock}.txt: {'; '.join(problems)}: {RELOCK}"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_carries_a_sha256_hash(lock: str) -> None:
    pins = read_lock(lock_path(lock))
    assert pins, f"requirements/{lock}.txt pins nothing"
    unhashed = [pin.line for pin in pins if not any(h.startswith("sha256:") for h in pin.hashes)]
    assert not unhashed, f"requirements/{lock}.txt, pins without --hash=sha256: {unhashed}"


@pytest.mark.parametrize(
    ("one", "other"), [("dev", "kiosk"), ("dev", "backoffice"), ("kiosk", "backoffice")]
)
def test_locks_agree_on_every_shared_version(one: str, other: str) -> None:
    mine, theirs = versions(read_lock(lock_path(one))), versions(read_lock(lock_path(other)))
    differ = {
        name: (sorted(map(str, mine[name])), sorted(map(str, theirs[name])))
        for name in mine.keys() & theirs.keys()
        if mine[name] != theirs[name]
    }
    assert not differ, f"requirements/{one}.txt and {other}.txt pin {differ}: {RELOCK}"


def test_running_environment_is_installed_from_the_dev_lock() -> None:
    installed: dict[NormalizedName, str] = {}
    for dist in importlib.metadata.distributions():  # in sys.path order: the first one wins
        installed.setdefault(canonicalize_name(dist.metadata["Name"]), dist.version)
    wrong = []
    for pin in read_lock(lock_path("dev")):
        if pin.marker is not None and not pin.marker.evaluate():
            continue  # for another platform or Python
        have = installed.get(pin.name)
        if have is None or Version(have) != pin.version:
            wrong.append(f"{pin.name} {have or 'missing'} (lock: {pin.version})")
    assert not wrong, (
        f"the packages of this environment differ from requirements/dev.txt: {wrong}; "
        "run bin/setup, which installs from the lock"
    )
