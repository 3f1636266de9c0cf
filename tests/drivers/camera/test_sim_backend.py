"""The camera simulator: deterministic frames, a tray tests can change, files played back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from drivers import check_device_url, open_camera
from drivers.camera import Camera, CameraState, Frame
from drivers.camera.sim_backend import SimCamera
from drivers.camera.synth import Defects
from drivers.errors import CameraError, DeviceUnavailableError, DeviceURLError

SMALL = "width=480&height=270"


@pytest.fixture
def cameras() -> Iterator[Callable[[str], Camera]]:
    opened: list[Camera] = []

    def make(url: str) -> Camera:
        camera = open_camera(url)
        opened.append(camera)
        return camera

    yield make
    for camera in opened:
        camera.close()


def sim_camera(url: str) -> SimCamera:
    camera = open_camera(url)
    assert isinstance(camera, SimCamera)
    return camera


def collect(camera: Camera, count: int) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    index = -1
    while len(frames) < count:
        frame = camera.frame_after(index, timeout=5.0)
        assert frame is not None
        frames[frame.index] = frame.image
        index = frame.index
    return frames


def test_the_same_seed_gives_identical_frames_index_by_index(cameras) -> None:
    url = f"sim://?seed=7&{SMALL}&fps=10&defects=glare:0.4"
    one, two = sim_camera(url).simulator, sim_camera(url).simulator
    for _ in range(4):
        (a, meta_a), (b, meta_b) = one.next_frame(), two.next_frame()
        assert np.array_equal(a, b) and meta_a == meta_b
    other = sim_camera(f"sim://?seed=8&{SMALL}&fps=10&defects=glare:0.4").simulator
    assert not np.array_equal(other.next_frame()[0], sim_camera(url).simulator.next_frame()[0])
    # Through the camera's thread too: the frame numbered k is the same in both runs.
    ca, cb = cameras(url), cameras(url)
    ca.start()
    cb.start()
    fa, fb = collect(ca, 5), collect(cb, 5)
    common = set(fa) & set(fb)
    assert common, "the two runs share frame numbers"
    for k in common:
        assert np.array_equal(fa[k], fb[k]), f"frame {k} differs"


def test_successive_frames_differ_by_sensor_noise_only(cameras) -> None:
    camera = cameras(f"sim://?seed=2&{SMALL}&fps=30&noise=2")
    camera.start()
    frames = list(collect(camera, 3).values())
    diff = frames[1].astype(int) - frames[0].astype(int)
    assert 1.5 < diff.std() < 4.0 and abs(diff.mean()) < 0.5
    quiet = cameras(f"sim://?seed=2&{SMALL}&fps=30&noise=0")
    quiet.start()
    still = list(collect(quiet, 2).values())
    assert np.array_equal(still[0], still[1])


def test_frames_carry_the_true_corners_and_the_defects(cameras) -> None:
    camera = cameras(f"sim://?seed=1&{SMALL}&page=tax-notice&defects=blur_sigma:1.5,hand")
    camera.start()
    frame = camera.latest(timeout=5.0)
    assert frame is not None
    corners = np.array(frame.meta["corners"], dtype=np.float32)
    assert corners.shape == (4, 2)
    assert (corners[:, 0] > 0).all() and (corners[:, 0] < 480).all()
    assert frame.meta["defects"] == Defects(blur_sigma=1.5, hand=True).as_dict()
    assert frame.meta["page"] == "tax-notice" and frame.meta["moving"] is False


def test_a_capture_session_places_moves_switches_and_removes_pages(cameras) -> None:
    camera = cameras(f"sim://?seed=4&{SMALL}&fps=30&placed=false")
    sim = camera.simulator
    camera.start()
    empty = camera.latest(timeout=5.0)
    assert empty is not None and empty.meta["corners"] is None and sim.page is None

    sim.place("convocation")
    frame = wait_for(camera, lambda f: f.meta["page"] == "convocation")
    resting = np.array(frame.meta["corners"])

    sim.move(frames=4)
    moving = wait_for(camera, lambda f: f.meta["moving"])
    assert moving.meta["defects"]["motion_px"] > 1
    settled = wait_for(camera, lambda f: not f.meta["moving"])
    assert np.abs(np.array(settled.meta["corners"]) - resting).max() > 5, "the page moved"

    sim.switch("identity-card")
    card = wait_for(camera, lambda f: f.meta["page"] == "identity-card")
    width = np.linalg.norm(np.subtract(card.meta["corners"][1], card.meta["corners"][0]))
    assert width < 0.5 * np.linalg.norm(resting[1] - resting[0]), "a card is smaller than A4"

    sim.set_defects("glare:1")
    glare = wait_for(camera, lambda f: f.meta["defects"]["glare"] == 1.0)
    assert (cv2.cvtColor(glare.image, cv2.COLOR_BGR2GRAY) >= 250).any()

    sim.remove()
    gone = wait_for(camera, lambda f: f.meta["corners"] is None)
    assert gone.meta["page"] is None
    with pytest.raises(CameraError, match="no page"):
        sim.move()
    with pytest.raises(CameraError, match=r"unknown sample page 'passport'.*convocation"):
        sim.place("passport")


def wait_for(camera: Camera, condition: Callable[[Frame], Any], timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = camera.latest(timeout=1.0)
        if frame is not None and condition(frame):
            return frame
    raise AssertionError("no such frame came")


def test_a_folder_of_images_is_played_in_name_order(tmp_path: Path, cameras) -> None:
    for i, name in enumerate(["b.png", "a.png", "c.jpg"]):
        cv2.imwrite(str(tmp_path / name), np.full((60, 80, 3), 50 * (i + 1), np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    camera = cameras(f"sim://{tmp_path}?fps=50&loop=false&noise=0")
    camera.start()
    frames = collect_until_end(camera)
    names = [Path(f.meta["file"]).name for f in frames]
    assert names == ["a.png", "b.png", "c.jpg"][-len(names):] and len(names) >= 2
    assert camera.status().state == CameraState.STOPPED
    with pytest.raises(CameraError, match="plays image files"):
        camera.simulator.place("payslip")


def collect_until_end(camera: Camera) -> list[Frame]:
    frames = []
    index = -1
    while (frame := camera.frame_after(index, timeout=2.0)) is not None:
        frames.append(frame)
        index = frame.index
    return frames


def test_a_missing_folder_is_refused_when_opened(tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailableError, match="neither an image nor a folder"):
        open_camera(f"sim://{tmp_path}/absent")
    with pytest.raises(DeviceUnavailableError, match="no image in"):
        open_camera(f"sim://{tmp_path}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sim://?seed=abc", "seed='abc' is not an integer >= 0"),
        ("sim://?page=passport", "page='passport' is not one of convocation, tax-notice, "
                                 "payslip, proof-of-address, identity-card, text"),
        ("sim://?defects=blurr:2", "is not name:value pairs separated by commas (blur_sigma, "
                                   "motion_px"),
        ("sim://?defects=glare:7", "defects='glare:7'"),
        ("sim://?fps=0", "fps='0' is not a number from 0.5 to 60"),
        ("sim://?width=640", "give both width and height"),
        ("sim://?sed=1", "unknown option 'sed' (valid: defects, fps, height, loop, noise, page, "
                         "placed, seed, width)"),
    ],
)
def test_bad_simulator_urls_name_what_is_valid(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        check_device_url("camera", url)
    assert message in str(caught.value)


def test_random_defects_change_with_each_placement_but_not_between_runs() -> None:
    a = sim_camera(f"sim://?seed=5&{SMALL}&defects=random").simulator
    b = sim_camera(f"sim://?seed=5&{SMALL}&defects=random").simulator
    first = [a.next_frame()[1]["defects"] for _ in range(2)]
    assert first[0] == first[1], "the same placement keeps its defects"
    a.place()
    b.place()
    assert a.next_frame()[1]["defects"] == b.next_frame()[1]["defects"]
    seen = set()
    for _ in range(6):
        a.place()
        seen.add(tuple(sorted(a.next_frame()[1]["defects"].items())))
    assert len(seen) > 1


def test_the_simulator_frame_memory_does_not_grow(cameras) -> None:
    import tracemalloc

    camera = cameras(f"sim://?seed=3&{SMALL}&fps=60")
    camera.start()
    collect(camera, 3)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        collect(camera, 40)
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now - base < 5 * 480 * 270 * 3
