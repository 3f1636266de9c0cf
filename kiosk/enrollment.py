"""This kiosk's enrollment bundle (``backoffice enroll``'s folder), found and checked against
the configuration: used by the composition root, the uploader, ``kiosk export`` and the
checks."""

from __future__ import annotations

from pathlib import Path

from deposit.bundle import Enrollment
from deposit.errors import BundleError
from kiosk.config import Config
from kiosk.errors import KioskError


def bundle_folder(config: Config, bundle: Path | None = None) -> Path:
    """The enrollment bundle: ``bundle``, else ``[upload] bundle``, else {data_dir}/enrollment."""
    return bundle or config.upload.bundle or config.kiosk.data_dir / "enrollment"


def load_bundle(config: Config, bundle: Path | None = None) -> Enrollment:
    """This kiosk's enrollment bundle, checked against the configuration.

    Raises KioskError naming the folder and what is wrong, and how to fix it.
    """
    folder = bundle_folder(config, bundle)
    try:
        loaded = Enrollment.load(folder)
    except BundleError as exc:
        raise KioskError(f"enrollment bundle {folder}: {exc}") from None
    if loaded.kiosk_id != config.kiosk.id or loaded.fleet_code != config.kiosk.code:
        where = config.path or "the configuration"
        raise KioskError(
            f"enrollment bundle {folder} is for kiosk {loaded.kiosk_id} (code "
            f"{loaded.fleet_code}) but {where} says [kiosk] id = {config.kiosk.id!r}, code = "
            f"{config.kiosk.code!r}: run `kiosk config enroll --bundle {folder}` (or merge the "
            f"bundle's kiosk.toml into the configuration)")
    return loaded
