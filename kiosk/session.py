"""What one citizen's session holds beyond the journey state: the pages, in memory only.

Pages never touch the disk in clear: the capture worker puts each encoded
page and its preview pictures here, the sealing reads them, and the wipe
overwrites every buffer with zeros before letting go of it. Python cannot
promise that no copy of a buffer survives elsewhere in the heap (the
allocator may have moved it), so the overwrite is a best effort on top of the
real guarantee: nothing is written to a file, and the process keeps no
reference to a wiped page.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(eq=False)
class StoredPage:
    """One page of a document: the encoded page (as the PDF embeds it) and pictures to show."""

    id: str
    document: str
    encoded: Any                          # scanner.EncodedPage (data, codec, width, ...)
    data: bytearray                       # the encoded bytes, a copy we can overwrite
    preview: npt.NDArray[np.uint8]        # RGB, about 1000 px on its long side, for the screen
    thumbnail: npt.NDArray[np.uint8]      # RGB, about 240 px on its long side, for the review
    reasons: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def wipe(self) -> None:
        self.data[:] = bytes(len(self.data))
        self.preview.fill(0)
        self.thumbnail.fill(0)
        self.encoded = None
        self.meta.clear()


class Session:
    """The pages of the current deposit, shared between the capture worker and the UI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, StoredPage] = {}
        self.generation = 0     # bumped by every wipe: late results of an old session are dropped

    @staticmethod
    def new_page_id() -> str:
        return "pg-" + secrets.token_hex(6)

    def add(self, page: StoredPage, generation: int | None = None) -> bool:
        """Keep ``page``; False (the page wiped) if the session was wiped since ``generation``."""
        with self._lock:
            if generation is not None and generation != self.generation:
                page.wipe()
                return False
            self._pages[page.id] = page
            return True

    def get(self, page_id: str) -> StoredPage | None:
        with self._lock:
            return self._pages.get(page_id)

    def pages(self, page_ids: Iterable[str]) -> list[StoredPage]:
        """The pages named, in that order (KeyError names a page the session does not hold)."""
        with self._lock:
            return [self._pages[page_id] for page_id in page_ids]

    def discard(self, page_ids: Iterable[str]) -> None:
        with self._lock:
            for page_id in page_ids:
                page = self._pages.pop(page_id, None)
                if page is not None:
                    page.wipe()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pages)

    def wipe(self) -> int:
        """Overwrite and forget every page; returns how many there were."""
        with self._lock:
            pages = list(self._pages.values())
            self._pages.clear()
            self.generation += 1
        for page in pages:
            page.wipe()
        return len(pages)
