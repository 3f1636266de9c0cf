"""The OpenCV camera backend, run on real video files and image sequences (its real read loop)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers import check_device_url, open_camera
from drivers.camera import Camera, CameraState
from drivers.errors import CameraError, DeviceUnavailableError, DeviceURLError

SIZE = (160, 120)


def level(i: int) -> int:
    return 20 + (9 * i) % 220


def write_clip(path: Path, frames: int, fps: float = 25.0) -> Path:
    """An MJPG AVI whose frame i is a flat grey of level(i), with a white square that moves."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened()
    for i in range(frames):
        image = np.full((SIZE[1], SIZE[0], 3), level(i), dtype=np.uint8)
        cv2.rectangle(image, (4 * i % 140, 10), (4 * i % 140 + 20, 30), (255, 255, 255), -1)
        writer.write(image)
    writer.release()
    return path


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def camera_factory() -> Iterator[Callable[[str], Camera]]:
    opened: list[Camera] = []

    def make(url: str) -> Camera:
        camera = open_camera(url)
        opened.append(camera)
        return camera

    yield make
    for camera in opened:
        camera.close()


def test_a_video_file_is_read_frame_by_frame_in_its_order(tmp_path: Path,
                                                          camera_factory) -> None:
    clip = write_clip(tmp_path / "clip.avi", 20)
    camera = camera_factory(f"opencv://{clip}?fps=40&loop=false")
    assert isinstance(camera, Camera)
    camera.start()
    seen: list[tuple[int, float]] = []
    index = -1
    while True:
        frame = camera.frame_after(index, timeout=2.0)
        if frame is None:
            break
        assert frame.image.shape == (SIZE[1], SIZE[0], 3) and frame.image.dtype == np.uint8
        seen.append((frame.index, float(frame.image[60:, :, 1].mean())))
        index = frame.index
    indexes = [i for i, _ in seen]
    assert indexes == sorted(indexes) and len(indexes) >= 10
    for i, mean in seen:     # the frame with index i is the file's frame i
        assert abs(mean - level(i)) < 4
    status = camera.status()
    assert status.state == CameraState.STOPPED and status.message == "end of stream"
    assert status.frames == 20 and status.resolution == SIZE


def test_latest_gives_the_newest_frame_and_no_queue_builds_up(tmp_path: Path,
                                                              camera_factory) -> None:
    clip = write_clip(tmp_path / "clip.avi", 30)
    camera = camera_factory(f"opencv://{clip}?fps=60")
    camera.start()
    time.sleep(0.4)                          # a consumer busy elsewhere for ~24 frames
    frame = camera.latest(timeout=1.0)
    assert frame is not None
    assert frame.index >= 10, "the frames the consumer missed are skipped, not queued"
    assert camera.status().frames - frame.index <= 2
    assert camera.latest(timeout=0.0) is None or camera.status().frames > frame.index + 1
    newer = camera.latest(timeout=1.0)
    assert newer is not None and newer.index > frame.index
    assert newer.timestamp > frame.timestamp
    assert camera.frame_after(newer.index - 1, timeout=0) is not None


def test_a_camera_that_disappears_is_lost_then_found_again(tmp_path: Path,
                                                           camera_factory) -> None:
    clip = write_clip(tmp_path / "clip.avi", 6)
    camera = camera_factory(f"opencv://{clip}?fps=50&lost_after=0.3&retry=0.1")
    camera.start()
    assert camera.latest(timeout=2.0) is not None
    hidden = tmp_path / "unplugged.avi"
    clip.rename(hidden)                      # the device goes away mid-session
    assert wait_until(lambda: camera.status().state == CameraState.LOST)
    status = camera.status()
    assert "no frame" in status.message or "disappeared" in status.message
    seen = camera.status().frames
    time.sleep(0.3)
    assert camera.status().frames == seen, "no frame while lost"
    hidden.rename(clip)                      # plugged in again
    assert wait_until(lambda: camera.status().state == CameraState.RUNNING)
    assert wait_until(lambda: camera.status().frames > seen)
    assert camera.latest(timeout=2.0) is not None


def test_an_image_sequence_is_read_through_a_printf_pattern(tmp_path: Path,
                                                            camera_factory) -> None:
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"img_{i:03d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    camera = camera_factory(f"opencv://{tmp_path}/img_%03d.png?fps=50&loop=false")
    camera.start()
    means = []
    index = -1
    while (frame := camera.frame_after(index, timeout=2.0)) is not None:
        means.append(round(float(frame.image.mean())))
        index = frame.index
    assert means == [0, 40, 80, 120, 160][-len(means):] and len(means) >= 3
    assert camera.status().state == CameraState.STOPPED


def test_capture_still_is_a_frame_read_after_the_call(tmp_path: Path, camera_factory) -> None:
    clip = write_clip(tmp_path / "clip.avi", 10)
    camera = camera_factory(f"opencv://{clip}?fps=30")
    with pytest.raises(CameraError, match="not running"):
        camera.capture_still(timeout=0.1)
    camera.start()
    before = camera.latest(timeout=2.0)
    assert before is not None
    still = camera.capture_still(timeout=2.0)
    assert still.index > before.index and still.timestamp >= before.timestamp


def test_frames_are_not_leaked(tmp_path: Path, camera_factory) -> None:
    clip = write_clip(tmp_path / "clip.avi", 10)
    camera = camera_factory(f"opencv://{clip}?fps=200")
    camera.start()
    for _ in range(20):
        camera.latest(timeout=1.0)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        first = camera.status().frames
        while camera.status().frames < first + 150:
            camera.latest(timeout=1.0)
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    frame_bytes = SIZE[0] * SIZE[1] * 3
    assert now - base < 6 * frame_bytes, f"memory grew by {now - base} bytes over 150 frames"


def test_opening_an_absent_or_unreadable_device_says_so(tmp_path: Path,
                                                        camera_factory) -> None:
    camera = camera_factory("v4l2:///dev/video97")
    with pytest.raises(DeviceUnavailableError, match="/dev/video97 does not exist"):
        camera.start()
    camera = camera_factory("opencv:///nonexistent/clip.avi")
    with pytest.raises(DeviceUnavailableError, match=r"clip\.avi does not exist"):
        camera.start()
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"this is not a video")
    camera = camera_factory(f"opencv://{junk}")
    with pytest.raises(DeviceUnavailableError, match="OpenCV cannot open it"):
        camera.start()
    assert camera.status().state == CameraState.STOPPED


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("v4l2://camera", "v4l2 needs a device node (v4l2:///dev/video0) or an index"),
        ("opencv://", "opencv needs a device index"),
        ("v4l2:///dev/video0?widht=640",
         "unknown option 'widht' (valid: buffersize, exposure, focus, fourcc, fps, height, "
         "loop, lost_after, retry, still_height, still_width, width)"),
        ("v4l2:///dev/video0?width=640", "give both width and height"),
        ("v4l2:///dev/video0?fourcc=MJPEG", "fourcc='MJPEG' is not four characters"),
        ("v4l2:///dev/video0?fps=fast", "fps='fast' is not a number from 0 to 240"),
        ("picamera2://front", "picamera2 takes a camera number"),
        ("usb://0", "unknown scheme 'usb' (accepted: v4l2, opencv, picamera2, sim)"),
    ],
)
def test_bad_camera_urls_are_refused_with_what_is_valid(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        check_device_url("camera", url)
    assert message in str(caught.value)


def test_the_picamera2_backend_says_clearly_when_its_library_is_missing() -> None:
    pytest.importorskip("numpy")
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(DeviceUnavailableError, match="apt install python3-picamera2"):
            open_camera("picamera2://0")
    else:  # pragma: no cover - on a Raspberry Pi
        pytest.skip("picamera2 is installed here")
