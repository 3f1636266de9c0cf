"""The camera contract on a real device: ``pytest -m hardware --camera-url=v4l2:///dev/video0``."""

from __future__ import annotations

import pytest

from drivers import open_camera
from drivers.camera import CameraState

pytestmark = pytest.mark.hardware


@pytest.fixture
def camera_url(request: pytest.FixtureRequest) -> str:
    url = request.config.getoption("--camera-url")
    if not url:
        pytest.skip("no --camera-url given")
    return str(url)


def test_a_real_camera_gives_fresh_frames_and_a_still(camera_url: str) -> None:
    camera = open_camera(camera_url)
    camera.start()
    try:
        first = camera.latest(timeout=5.0)
        assert first is not None and first.image.ndim == 3 and first.image.shape[2] == 3
        second = camera.latest(timeout=2.0)
        assert second is not None and second.index > first.index
        status = camera.status()
        assert status.state == CameraState.RUNNING and status.fps > 1
        assert status.resolution == (first.image.shape[1], first.image.shape[0])
        still = camera.capture_still(timeout=5.0)
        assert still.index > second.index
    finally:
        camera.close()
