"""The configuration file: defaults select simulators; a bad file stops start-up with one line."""

from __future__ import annotations

import re
import typing
from dataclasses import fields
from pathlib import Path

import pytest

from kiosk.config import Config, load_config, parse_config
from kiosk.errors import ConfigError
from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "kiosk.example.toml"


def test_defaults_select_the_simulators() -> None:
    config = parse_config("")
    assert config.devices.printer.startswith("sim://")
    assert config.devices.camera.startswith("sim://")
    assert config.devices.code_reader.startswith("sim://")


def test_the_commented_example_is_valid_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.path == EXAMPLE
    text = EXAMPLE.read_text(encoding="utf-8")
    documented: dict[str, set[str]] = {}
    section = ""
    for line in text.splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m.group(1)
        elif m := re.match(r"^#?\s?(\w+)\s*=", line):
            documented.setdefault(section, set()).add(m.group(1))
    hints = typing.get_type_hints(Config)
    for f in fields(Config):
        if f.name == "path":
            continue
        keys = {k.name for k in fields(hints[f.name])}
        assert keys <= documented.get(f.name, set()), f"[{f.name}] keys missing from the example"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[devices]\nprinterr = "sim://"\n',
         "[devices] unknown key 'printerr' (valid: camera, code_reader, printer)"),
        ('[devices]\nprinter = "lpt://x"\n',
         "[devices] printer = 'lpt://x': unknown scheme 'lpt' "
         "(accepted: serial, file, tcp, sim)"),
        ('[devices]\nprinter = "no url here"\n', "is not of the form scheme://location?options"),
        ('[kiosk]\nid = "demo 01"\n', "[kiosk] id = 'demo 01' is not 1 to 32 capital letters"),
        ("[kiosk]\nlanguages = 3\n", "[kiosk] languages = 3 is not a list of strings"),
        ('[kioskk]\nid = "A"\n', "unknown section [kioskk] (valid: devices, kiosk"),
        ('[kiosk]\ndefault_language = "de"\n', "default_language = 'de' is not one of languages"),
        ("[kiosk\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_with_the_key_and_accepted_values(toml: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(toml, where="kiosk.toml")
    message = str(caught.value)
    assert message.startswith("kiosk.toml: ")
    assert expected in message
    assert "\n" not in message


def test_a_bad_device_option_names_the_valid_options() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[devices]\nprinter = "sim://?papr=out"\n', where="kiosk.toml")
    message = str(caught.value)
    assert "unknown option 'papr'" in message and "valid: " in message and "paper" in message


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[devices]\nbogus = 1\n', "unknown key 'bogus'"),
        ('[devices]\ncamera = "sim://?seed=abc"\n', "seed='abc' is not an integer"),
        ('[devices]\ncode_reader = "usb://x"\n', "unknown scheme 'usb'"),
    ],
)
def test_kiosk_start_up_stops_with_one_line_on_a_bad_file(tmp_path: Path, toml: str,
                                                         needle: str) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(toml, encoding="utf-8")
    result = run_cli("kiosk", ["config", "check", "--config", str(path)])
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and needle in lines[0]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")
