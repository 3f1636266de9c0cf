"""The empty tray as a prior for the page detector, and its calibration file.

Why: the kiosk's camera never moves, so whatever it saw on the empty tray
(the tray's texture, a sticker, a scratch, the mount's shadow, papers left
under the glass) is not the page. A technician records the empty tray once
(:func:`record_tray`: the median of a few frames, so that sensor noise and a
passing hand vanish); the detector then knows which pixels changed since.

How the detector uses it (:func:`scanner.detect.find_page`, only when a
prior is given):

1. **Foreground.** On the detector's working image, the per-pixel colour
   difference to the empty tray (resized to the same size once and cached),
   after matching the overall gain (the camera's auto-exposure drifts between
   the calibration and now: the median ratio of frame to tray along the
   frame's border, where the tray shows, is divided out), thresholded above
   the difference's own noise, opened to drop specks and closed to fill the
   page's blank paper between its lines.
2. **The search restricted to it** (:meth:`TrayPrior.near`): edge pixels
   farther than ``NEAR`` from the foreground are dropped before the
   detector looks for lines, so the tray's pattern and the papers and
   objects that were already there cannot make a page's sides.
3. **Candidates judged against it** (:meth:`TrayPrior.rerank`). The detector
   proposes its best few distinct quadrilaterals (``PRIOR_FINALISTS``);
   each one's score is multiplied by
   ``(1 - WEIGHT) + WEIGHT * (inside * coverage) ** POWER``, where
   ``inside`` is the share of the quad that is foreground (a quad on the
   tray's own pattern or on a sheet left under the glass has little) and
   ``coverage`` the share of the foreground inside the quad (a quad stopping
   at an identity card's header band, or at a printed frame inside a page,
   leaves part of it out). A hand on the page is foreground outside every
   quad; it lowers every candidate's coverage alike, and the power keeps
   the ratio between candidates.

The constants were chosen on the in-sample seeds of the benchmark
(``python -m benchmarks --only trayprior``) and checked once on its held-out
seeds; the figures are in docs/camera-calibration.md.

Without a prior the detector does exactly what it did before (the tests of
tests/scanner/ pin that). The prior's effect is measured by
``python -m benchmarks --only trayprior``.

Files: ``{data_dir}/calibration/tray.png`` (lossless, BGR) and
``{data_dir}/calibration/tray.json`` (``recorded_at`` ISO 8601 UTC,
``width``, ``height``, ``frames``), both replaced atomically. A calibration
made at another camera resolution is refused (:class:`TrayCalibrationError`,
reason :attr:`TrayRefusal.RESOLUTION`): the camera, its mount or its mode
changed, and the technician must record the tray again.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from scanner.errors import ScannerError

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Folder under the kiosk's data directory, and the two files of a tray calibration.
CALIBRATION_DIR = "calibration"
TRAY_IMAGE = "tray.png"
TRAY_META = "tray.json"
#: Fewest frames a tray calibration is the median of (noise falls as 1 / sqrt(n)). Set by hand
#: in 320cdae (three is the fewest whose median drops one odd frame: a hand passing by).
MIN_FRAMES = 3

#: How many distinct quads the detector proposes when a prior will choose among them. Chosen in
#: 320cdae on the in-sample seeds (52000+, 53000+, 55000+) of ``python -m benchmarks --only
#: trayprior``, held-out seeds (72000+...) run once afterwards (docs/camera-calibration.md).
PRIOR_FINALISTS = 8
#: How much the foreground agreement weighs on a candidate's score (0: not at all), and its
#: power (the agreement of a good and a wrong quad differ by a few tenths; a power makes that
#: difference outweigh the detector's own scores, which differ by factors of 2 or 3). Both
#: chosen like ``PRIOR_FINALISTS`` (320cdae, in-sample seeds of the trayprior benchmark).
WEIGHT = 1.0
#: (chosen with ``WEIGHT``: in-sample seeds of ``python -m benchmarks --only trayprior``)
POWER = 8.0
#: Edges farther than this (fraction of the working image's diagonal) from the foreground are
#: not looked at: the tray's pattern, papers and objects that were there before. Chosen like
#: ``PRIOR_FINALISTS`` (320cdae, in-sample seeds of the trayprior benchmark).
NEAR = 0.02
#: Least colour difference (Lab units, L in 0..100) that counts as a change, and how many times
#: the difference's own noise (robust spread along the frame's border) it must also exceed.
#: Set in 320cdae with the prior's other constants on the trayprior benchmark's in-sample
#: seeds; docs/camera-calibration.md records no sweep of these two.
MIN_CHANGE = 6.0
#: (set with ``MIN_CHANGE``, 320cdae; no sweep recorded)
NOISE_FACTOR = 4.0


class TrayRefusal(enum.Enum):
    """Why a recorded tray calibration cannot be used (shown to the technician)."""

    MISSING = "missing"              # no calibration recorded
    UNREADABLE = "unreadable"        # a file is damaged or not what it should be
    RESOLUTION = "resolution"        # recorded at another camera resolution


class TrayCalibrationError(ScannerError):
    """A tray calibration that cannot be recorded or used; ``reason`` says why."""

    def __init__(self, reason: TrayRefusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TrayMeta:
    """What is known about a recorded empty tray."""

    recorded_at: datetime
    width: int
    height: int
    frames: int

    def to_json(self) -> dict[str, object]:
        return {"recorded_at": self.recorded_at.isoformat(timespec="seconds"),
                "width": self.width, "height": self.height, "frames": self.frames}

    @classmethod
    def from_json(cls, data: object) -> TrayMeta:
        """Raises ValueError (or KeyError, TypeError) on anything but :meth:`to_json`'s shape."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        recorded = datetime.fromisoformat(str(data["recorded_at"]))
        if recorded.tzinfo is None:
            raise ValueError("recorded_at has no time zone")
        width, height, frames = (data[k] for k in ("width", "height", "frames"))
        if not all(isinstance(v, int) and v > 0 for v in (width, height, frames)):
            raise ValueError("width, height and frames must be positive integers")
        return cls(recorded, int(width), int(height), int(frames))


@dataclass(frozen=True, eq=False)
class TrayPrior:
    """The empty tray (BGR uint8, the camera's full resolution) and what it is used for."""

    image: U8 = field(repr=False)
    meta: TrayMeta | None = None
    _sized: dict[tuple[int, int], npt.NDArray[np.float32]] = field(
        default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.image.dtype != np.uint8 or self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(f"the empty tray must be an H x W x 3 BGR uint8 image, "
                             f"got {self.image.dtype} {self.image.shape}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the recorded frames."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def _lab_at(self, size: tuple[int, int]) -> npt.NDArray[np.float32]:
        """The tray in Lab at ``size`` (width, height), resized by pixel areas; cached."""
        lab = self._sized.get(size)
        if lab is None:
            small = self.image if size == self.size else np.asarray(
                cv2.resize(self.image, size, interpolation=cv2.INTER_AREA), np.uint8)
            lab = _lab(small)
            self._sized[size] = lab
        return lab

    def foreground(self, image: U8) -> B:
        """Pixels of ``image`` (BGR, any size of the tray's proportions) that differ from it.

        Raises ValueError when ``image``'s proportions are not the tray's (another camera
        mode: the prior would put the page in the wrong place).
        """
        h, w = image.shape[:2]
        tw, th = self.size
        if abs(w * th - h * tw) > max(w, h, tw, th):     # a pixel of rounding allowed, no more
            raise ValueError(f"a {w}x{h} frame has not the proportions of the {tw}x{th} "
                             f"empty tray")
        frame = _lab(image)
        tray = self._lab_at((w, h))
        border = np.zeros((h, w), bool)
        # the border strip, 6 % of the short side, and the 1 % closing below: set by hand in
        # 320cdae (no sweep recorded), checked with the prior's constants on the trayprior
        # benchmark's in-sample seeds
        m = max(2, round(0.06 * min(w, h)))
        border[:m], border[-m:], border[:, :m], border[:, -m:] = True, True, True, True
        # the auto-exposure's drift: a gain on lightness, measured where the tray shows
        ratio = (frame[..., 0][border] + 1.0) / (tray[..., 0][border] + 1.0)   # (+1: no 0 / 0)
        gain = float(np.median(ratio))
        diff = frame - tray * np.array([gain, 1.0, 1.0], np.float32)
        dist = np.sqrt(np.einsum("hwc,hwc->hw", diff, diff))
        along = dist[border]
        # 1.4826: the median absolute deviation of a normal law times this is its sigma (a fact)
        spread = 1.4826 * float(np.median(np.abs(along - np.median(along))))
        threshold = max(MIN_CHANGE, float(np.median(along)) + NOISE_FACTOR * spread)
        mask = (dist > threshold).astype(np.uint8)
        k = max(3, round(0.01 * max(w, h)) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))  # 1-px specks
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        return np.asarray(mask, np.uint8) > 0

    def near(self, fg: B) -> B:
        """Pixels within ``NEAR`` of the frame's diagonal of the foreground ``fg``: where the
        page's sides can be (the foreground's own outline, give or take a blurred edge)."""
        h, w = fg.shape
        r = max(2, round(NEAR * float(np.hypot(w, h))))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        return np.asarray(cv2.dilate(fg.astype(np.uint8), kernel), np.uint8) > 0

    def agreement(self, fg: B, corners: F64) -> F64:
        """``inside * coverage`` (0..1, module docstring) of each quad (N, 4, 2) on the
        foreground ``fg`` (:meth:`foreground` of the image the corners are in)."""
        total = float(np.count_nonzero(fg))
        out = np.zeros(len(corners))
        if total == 0:
            return out
        h, w = fg.shape
        mask = np.zeros((h, w), np.uint8)
        for i, quad in enumerate(corners):
            mask[:] = 0
            cv2.fillConvexPoly(mask, np.round(quad * 16).astype(np.int32), 1, cv2.LINE_8,
                               shift=4)                # OpenCV's fixed point: 4 bits, x 16
            area = float(np.count_nonzero(mask))
            if area == 0:
                continue
            both = float(np.count_nonzero(fg & (mask > 0)))
            out[i] = (both / area) * (both / total)
        return out

    def rerank(self, fg: B, corners: F64, scores: F64) -> tuple[F64, F64]:
        """The detector's finalists (corners (N, 4, 2) in ``fg``'s pixels, scores best first)
        ordered again by score times the foreground factor; the scores returned are those.
        """
        factor = (1.0 - WEIGHT) + WEIGHT * self.agreement(fg, corners) ** POWER
        new = scores * factor
        order = np.argsort(-new, kind="stable")
        log.debug("tray prior: factors %s", np.round(factor, 3).tolist())
        return corners[order], new[order]


def _lab(image: U8) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.cvtColor(np.multiply(image, np.float32(1 / 255), dtype=np.float32),
                                   cv2.COLOR_BGR2Lab), np.float32)


# ------------------------------------------------------------------------ the calibration file

def tray_dir(data_dir: Path) -> Path:
    return data_dir / CALIBRATION_DIR


def median_frame(frames: Iterable[U8]) -> tuple[U8, int]:
    """The per-pixel median of ``frames`` (all BGR uint8 of one size) and how many there were.

    Raises ValueError on fewer than :data:`MIN_FRAMES` frames or frames of different sizes.
    """
    stack = [np.asarray(f) for f in frames]
    if len(stack) < MIN_FRAMES:
        raise ValueError(f"a tray calibration needs at least {MIN_FRAMES} frames, "
                         f"got {len(stack)}")
    shape = stack[0].shape
    if any(f.shape != shape or f.dtype != np.uint8 for f in stack) or len(shape) != 3 \
            or shape[2] != 3:
        raise ValueError("tray frames must all be BGR uint8 images of one size")
    return np.asarray(np.median(np.stack(stack), axis=0) + 0.5, np.uint8), len(stack)


def record_tray(frames: Iterable[U8], data_dir: Path, *,
                now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> TrayPrior:
    """Record the empty tray: the median of ``frames``, written to ``{data_dir}/calibration``.

    Both files are written to temporary names, fsynced and renamed, the image
    first: a crash leaves the old calibration or the new one, never half of one.
    Raises ValueError for unusable frames, OSError when the files cannot be written.
    """
    image, count = median_frame(frames)
    meta = TrayMeta(now(), int(image.shape[1]), int(image.shape[0]), count)
    folder = tray_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise OSError("the empty tray could not be encoded as PNG")
    _replace(folder / TRAY_IMAGE, png.tobytes())
    _replace(folder / TRAY_META, (json.dumps(meta.to_json(), indent=2) + "\n").encode())
    log.info("empty tray recorded: %dx%d, median of %d frames", meta.width, meta.height, count)
    return TrayPrior(image, meta)


def load_tray(data_dir: Path, frame_size: tuple[int, int]) -> TrayPrior:
    """The recorded empty tray, for a camera giving ``frame_size`` (width, height) frames.

    Raises TrayCalibrationError: MISSING when nothing was recorded, UNREADABLE
    when a file is damaged, RESOLUTION when it was recorded at another size.
    """
    folder = tray_dir(data_dir)
    image_path, meta_path = folder / TRAY_IMAGE, folder / TRAY_META
    if not image_path.exists() and not meta_path.exists():
        raise TrayCalibrationError(TrayRefusal.MISSING, f"no tray calibration in {folder}")
    try:
        meta = TrayMeta.from_json(json.loads(meta_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrayCalibrationError(TrayRefusal.UNREADABLE,
                                   f"{meta_path} cannot be read: {exc}") from exc
    width, height = int(frame_size[0]), int(frame_size[1])
    if (meta.width, meta.height) != (width, height):
        raise TrayCalibrationError(
            TrayRefusal.RESOLUTION,
            f"the empty tray was recorded at {meta.width}x{meta.height} and the camera now "
            f"gives {width}x{height}: record the empty tray again")
    read = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if read is None:
        raise TrayCalibrationError(TrayRefusal.UNREADABLE,
                                   f"{image_path} is missing or not an image")
    image = np.asarray(read, np.uint8)
    if (image.shape[1], image.shape[0]) != (meta.width, meta.height):
        raise TrayCalibrationError(
            TrayRefusal.UNREADABLE,
            f"{image_path} is {image.shape[1]}x{image.shape[0]}, its description says "
            f"{meta.width}x{meta.height}")
    return TrayPrior(image, meta)


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename, fsync the folder)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
