"""``kiosk config enroll``: the enrollment bundle merged into kiosk.toml, the rest of it kept.

Bundles come from a real back office (``fleet.init`` + ``fleet.enroll``, as
``backoffice init`` and ``backoffice enroll`` do).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.commands.config import enroll, merge_settings, toml_string
from kiosk.config import load_config, parse_config
from kiosk.errors import ConfigError
from tests.backoffice.harness import enroll as enroll_kiosk
from tests.backoffice.harness import init_backoffice
from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "kiosk.example.toml"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_backoffice(tmp_path_factory.mktemp("office"), 8443)


@pytest.fixture(scope="module")
def bundle(office: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return enroll_kiosk(office, "MAIRIE-LYON-03", tmp_path_factory.mktemp("b") / "bundle")


def bundle_json(bundle: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((bundle / "bundle.json").read_text())
    return data


def technicians_file(tmp_path: Path) -> Path:
    """The example with a technician's own settings and comments in it."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('place = "Démonstration"',
                        '# Hall B, next to the lifts (moved 2025-03).\nplace = "Mairie, hall B"')
    text = text.replace('printer = "sim://"',
                        'printer = "serial:///dev/kiosk-printer?baudrate=19200"  # TM-T20III')
    text = text.replace("chunk_mib = 4", "chunk_mib = 2  # rural line")
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_enroll_sets_the_bundles_kiosk_and_keeps_the_rest(tmp_path: Path, bundle: Path) -> None:
    path = technicians_file(tmp_path)
    before = path.read_text(encoding="utf-8").splitlines()
    result = run_cli("kiosk", ["config", "enroll", "--config", str(path), "--bundle", str(bundle),
                               "--data-dir", "/var/lib/kiosk",
                               "--bundle-path-in-config", "/var/lib/kiosk/enrollment"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{path}: ok"

    after = path.read_text(encoding="utf-8").splitlines()
    edited = {"id", "code", "data_dir", "bundle"}

    def kept(lines: list[str]) -> list[str]:
        return [ln for ln in lines
                if ln.lstrip("# ").split(" =")[0].split("=")[0] not in edited]

    # Every comment and every other setting is still there, in the same order.
    assert kept(after) == kept(before)
    assert len(after) == len(before)
    config = load_config(path)
    wanted = bundle_json(bundle)
    assert config.kiosk.id == wanted["kiosk_id"] == "MAIRIE-LYON-03"
    assert config.kiosk.code == wanted["fleet_code"]
    assert config.kiosk.data_dir == Path("/var/lib/kiosk")
    assert config.upload.bundle == Path("/var/lib/kiosk/enrollment")
    assert config.kiosk.place == "Mairie, hall B"
    assert config.devices.printer == "serial:///dev/kiosk-printer?baudrate=19200"
    assert config.upload.chunk_mib == 2
    assert "# Hall B, next to the lifts (moved 2025-03)." in after
    assert 'printer = "serial:///dev/kiosk-printer?baudrate=19200"  # TM-T20III' in after
    # The commented-out keys of the example were uncommented where they stood.
    assert 'data_dir = "/var/lib/kiosk"' in after and '# data_dir = "/var/lib/kiosk"' not in after
    check = run_cli("kiosk", ["config", "check", "--config", str(path)])
    assert check.returncode == 0, check.stderr


def test_a_bundle_for_kiosk_x_gives_id_x(tmp_path: Path, office: Path) -> None:
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    for kiosk_id in ("K-GRENOBLE-7", "MAIRIE-PAU-01"):
        other = enroll_kiosk(office, kiosk_id, tmp_path / kiosk_id)
        done = enroll(path, other)
        assert done.kiosk_id == kiosk_id
        config = load_config(path)
        assert config.kiosk.id == kiosk_id
        assert config.kiosk.code == bundle_json(other)["fleet_code"]
        assert config.upload.bundle == other.resolve()      # default: the --bundle folder


def test_enrolling_again_changes_nothing(tmp_path: Path, bundle: Path) -> None:
    path = technicians_file(tmp_path)
    first = enroll(path, bundle, data_dir=Path("/var/lib/kiosk"))
    text = path.read_bytes()
    second = enroll(path, bundle, data_dir=Path("/var/lib/kiosk"))
    assert first.changed and not second.changed
    assert path.read_bytes() == text
    assert "already up to date" in second.lines()[0]


def test_a_missing_file_is_created_with_the_enrollment_alone(tmp_path: Path,
                                                            bundle: Path) -> None:
    path = tmp_path / "etc" / "kiosk.toml"
    path.parent.mkdir()
    done = enroll(path, bundle, bundle_path=Path("/var/lib/kiosk/enrollment"))
    assert done.created
    config = load_config(path)
    assert config.kiosk.id == "MAIRIE-LYON-03"
    assert config.upload.bundle == Path("/var/lib/kiosk/enrollment")
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_files_mode_is_kept(tmp_path: Path, bundle: Path) -> None:
    path = technicians_file(tmp_path)
    path.chmod(0o640)
    enroll(path, bundle)
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.toml"]       # no temporary left


def broken_bundles(bundle: Path, tmp_path: Path) -> dict[str, Path]:
    def copy(name: str) -> Path:
        return Path(shutil.copytree(bundle, tmp_path / name))

    no_json = copy("no-json")
    (no_json / "bundle.json").unlink()
    garbled = copy("garbled")
    (garbled / "bundle.json").write_text('{"version": 1, "kiosk_id": ')
    no_key = copy("no-key")
    (no_key / "tls" / "kiosk.key").unlink()
    wrong_version = copy("wrong-version")
    data = bundle_json(bundle) | {"version": 7}
    (wrong_version / "bundle.json").write_text(json.dumps(data))
    return {"no bundle.json": no_json, "garbled bundle.json": garbled,
            "no TLS key": no_key, "version 7": wrong_version,
            "no such folder": tmp_path / "absent"}


@pytest.mark.parametrize("case", ["no bundle.json", "garbled bundle.json", "no TLS key",
                                  "version 7", "no such folder"])
def test_a_broken_bundle_gives_one_clear_line(tmp_path: Path, bundle: Path, case: str) -> None:
    broken = broken_bundles(bundle, tmp_path / "bundles")[case]
    path = technicians_file(tmp_path)
    before = path.read_bytes()
    result = run_cli("kiosk", ["config", "enroll", "--config", str(path), "--bundle", str(broken)])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"kiosk: cannot enroll from {broken}: "), lines[0]
    assert {"no bundle.json": "no enrollment bundle", "garbled bundle.json": "cannot be read",
            "no TLS key": "lacks tls/kiosk.key", "version 7": "not a version 1 bundle",
            "no such folder": "no enrollment bundle"}[case] in lines[0]
    assert path.read_bytes() == before


def test_a_result_that_would_not_start_the_kiosk_is_not_written(tmp_path: Path,
                                                                bundle: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[devices]\nprinter = "lpt://x"\n')
    with pytest.raises(ConfigError, match=r"\[devices\] printer = 'lpt://x'"):
        enroll(path, bundle)
    assert path.read_text() == '[devices]\nprinter = "lpt://x"\n'


def test_keys_set_in_a_way_a_line_edit_cannot_reach_are_refused(tmp_path: Path,
                                                                bundle: Path) -> None:
    path = tmp_path / "kiosk.toml"
    text = 'kiosk = { place = "Hall" }\n'
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"cannot be merged line by line .*; set \[kiosk\] id = "):
        enroll(path, bundle)
    assert path.read_text() == text


def test_options_of_enroll_are_refused_elsewhere(tmp_path: Path, bundle: Path) -> None:
    result = run_cli("kiosk", ["config", "check", "--bundle", str(bundle)])
    assert result.returncode == 2 and "only for `kiosk config enroll`" in result.stderr
    result = run_cli("kiosk", ["config", "enroll", "--config", str(tmp_path / "k.toml")])
    assert result.returncode == 2 and "needs --bundle" in result.stderr


# ------------------------------------------------------------------ the line-based edit


def test_multi_line_values_and_trailing_comments() -> None:
    text = ('# head\n[kiosk]\nplace = "x"  # here\nlanguages = [\n  "fr", # French\n  "en",\n'
            ']  # end\ndefault_language = "fr"\n\n[devices]\nprinter = "sim://"\n')
    merged = merge_settings(text, {"kiosk": {"id": "A-1", "code": "AB12"},
                                   "upload": {"bundle": "/b"}})
    assert merged == ('# head\n[kiosk]\nplace = "x"  # here\nlanguages = [\n  "fr", # French\n'
                      '  "en",\n]  # end\ndefault_language = "fr"\nid = "A-1"\ncode = "AB12"\n\n'
                      '[devices]\nprinter = "sim://"\n\n[upload]\nbundle = "/b"\n')
    config = parse_config(merged)
    assert config.kiosk.languages == ["fr", "en"] and config.kiosk.id == "A-1"


def test_an_assignment_keeps_its_indent_spacing_and_comment() -> None:
    text = '[kiosk]\n  id="OLD"   # given by the office\ncode = "ZZZZ"\n[upload]\n'
    merged = merge_settings(text, {"kiosk": {"id": "NEW", "code": "AB12"},
                                   "upload": {"bundle": "/x"}})
    assert merged == ('[kiosk]\n  id="NEW"   # given by the office\ncode = "AB12"\n[upload]\n'
                      'bundle = "/x"\n')


def test_windows_line_ends_stay() -> None:
    merged = merge_settings('[kiosk]\r\nid = "OLD"\r\n', {"kiosk": {"id": "NEW"}})
    assert merged == '[kiosk]\r\nid = "NEW"\r\n'


def test_a_key_in_another_section_is_not_touched() -> None:
    text = '[upload]\n# id = "not this"\n[kiosk]\nplace = "x"\n'
    merged = merge_settings(text, {"kiosk": {"id": "A"}})
    assert merged == '[upload]\n# id = "not this"\n[kiosk]\nplace = "x"\nid = "A"\n'


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
def test_toml_string_round_trips(value: str) -> None:
    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value
