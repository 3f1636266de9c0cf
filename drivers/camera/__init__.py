"""Document cameras: OpenCV (V4L2/UVC), Picamera2 (optional), and the simulator."""

from __future__ import annotations

from drivers.camera.base import Camera, CameraState, CameraStatus, CameraTimeoutError, Frame

#: URL scheme -> backend module (imported only when a URL names it).
BACKENDS: dict[str, str] = {
    "v4l2": "drivers.camera.opencv_backend",
    "opencv": "drivers.camera.opencv_backend",
    "picamera2": "drivers.camera.picamera2_backend",
    "sim": "drivers.camera.sim_backend",
}

__all__ = ["BACKENDS", "Camera", "CameraState", "CameraStatus", "CameraTimeoutError", "Frame"]
