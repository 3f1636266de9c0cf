"""The screenshot of docs/2ddoc.md: ``python -m devtools.twoddoc_screens [OUT_DIR]``.

Runs the workspace's 2D-Doc test (tests/workspace/test_workspace_twoddoc.py: a
real back office, a dossier sealed with a verified proof of address and a
tampered tax notice, the workspace in its own process, Debian's Chromium)
with ``WORKSPACE_SCREENSHOTS`` set, then keeps the top of the page (the
dossier's pages and their codes) as an optimised PNG in ``docs/2ddoc/``.
Needs ../shared/data/2ddoc (the test authority's key) and chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.screenshots import shrink

REPO = Path(__file__).resolve().parent.parent
TEST = "tests/workspace/test_workspace_twoddoc.py"
#: The part of the full page kept: the two pages and their 2D-Doc panels.
KEEP_HEIGHT = 1900


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0]) if args else REPO / "docs" / "2ddoc"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as shots:
        env = {**os.environ, "WORKSPACE_SCREENSHOTS": shots}
        result = subprocess.run([sys.executable, "-m", "pytest", TEST, "-q", "-n0", "-p",
                                 "no:cacheprovider"], cwd=REPO, env=env)
        shot = Path(shots) / "workspace-2ddoc.png"
        if result.returncode != 0 or not shot.exists():
            print("the workspace test failed: no screenshot", file=sys.stderr)
            return 1
        from PIL import Image
        with Image.open(shot) as picture:
            top = picture.crop((0, 0, picture.width, min(picture.height, KEEP_HEIGHT)))
            target = out / "workspace-2ddoc.png"
            top.save(target)
    shrink(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
