"""What the lock files were made from: the digest of pyproject.toml's dependencies.

Each ``requirements/*.txt`` records ``# pyproject-dependencies-sha256: <hex>`` (written by
``bin/lock``), and ``tests/test_lock.py`` compares it with the digest of the pyproject.toml of
today, so a dependency added or changed without re-locking fails the tests.

The canonical form is the JSON of the two [project] tables as TOML values,
``{"dependencies": [...], "optional-dependencies": {extra: [...]}}``, each list sorted, keys
sorted, no spaces, UTF-8. Parsed values rather than text, so that comments, layout and the
[tool.*] sections, which do not change what gets installed, do not ask for a new lock; lists
sorted because their order does not change the resolution either. The strings are kept as
written: respelling a requirement asks for a re-lock, which is harmless. Standard library only,
so that ``bin/lock`` runs it with any Python 3.11 before anything is installed.

    python3 requirements/pyproject_digest.py [pyproject.toml]   # prints the digest
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

#: The line of a lock file that records the digest.
HEADER_PREFIX = "# pyproject-dependencies-sha256: "


def canonical_dependencies(pyproject: dict[str, Any]) -> bytes:
    """The canonical form of [project] dependencies and optional-dependencies (see above)."""
    project = pyproject.get("project", {})
    extras = project.get("optional-dependencies", {})
    form = {
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {name: sorted(reqs) for name, reqs in extras.items()},
    }
    return json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def dependencies_digest(pyproject_path: Path) -> str:
    """The hex SHA-256 of the canonical form of the dependencies of ``pyproject_path``."""
    with pyproject_path.open("rb") as f:
        pyproject = tomllib.load(f)
    return hashlib.sha256(canonical_dependencies(pyproject)).hexdigest()


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("pyproject.toml")
    sys.stdout.write(dependencies_digest(path) + "\n")
