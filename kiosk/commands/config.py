"""``kiosk config``: check and show the configuration, and merge an enrollment bundle into it.

::

    kiosk config check  [--config FILE]     exit 0 if usable, else the one line that is wrong;
                                            also loads the catalog, which warns on stderr of
                                            contacts still '[à compléter : …]' placeholders
    kiosk config show   [--config FILE]     every key with its value, as JSON
    kiosk config enroll --bundle DIR [--config FILE] [--bundle-path-in-config PATH]
                        [--data-dir PATH]

``enroll`` reads the bundle written by ``backoffice enroll`` and sets, in the
configuration file, exactly what the enrollment decides: ``[kiosk] id`` and
``code`` (from the bundle's ``bundle.json``), ``[upload] bundle`` (where the
bundle lies at run time: ``--bundle-path-in-config``, else ``--bundle``) and,
with ``--data-dir``, ``[kiosk] data_dir``. Every other line of the file (the
technician's settings, the comments, the layout) stays as it was. The edit is
line-based within the sections; a key that is only commented out
(``# data_dir = ...``, as in ``kiosk.example.toml``) is uncommented in place,
so it keeps the comment above it. The result is checked as ``kiosk config
check`` would, compared with what was asked, and only then replaces the file
(a temporary file in the same folder, fsynced, renamed). A file that does not
exist yet is created with those keys alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from kiosk.catalog import load_catalog
from kiosk.config import SYSTEM_CONFIG, Config, load_config, parse_config
from kiosk.errors import ConfigError


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "config", parents=parents, help="check and show the configuration; merge an enrollment",
        description="check: exit 0 if the configuration is usable. show: print every key with "
                    "its value as JSON. enroll: set [kiosk] id and code, [upload] bundle (and "
                    "[kiosk] data_dir with --data-dir) from an enrollment bundle, keeping the "
                    "rest of the file and its comments.")
    parser.add_argument("action", choices=["check", "show", "enroll"],
                        help="check: exit 0 if usable; show: print every key with its value as "
                             "JSON; enroll: merge an enrollment bundle into the file")
    parser.add_argument("--bundle", type=Path, metavar="DIR",
                        help="enroll: the bundle folder written by `backoffice enroll`")
    parser.add_argument("--bundle-path-in-config", type=Path, metavar="PATH",
                        help="enroll: where the bundle lies when the kiosk runs, written as "
                             "[upload] bundle (default: --bundle, made absolute); for an image "
                             "built under another root, e.g. /var/lib/kiosk/enrollment")
    parser.add_argument("--data-dir", type=Path, metavar="PATH",
                        help="enroll: also set [kiosk] data_dir (e.g. /var/lib/kiosk)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    enroll_only = {"--bundle": args.bundle, "--bundle-path-in-config": args.bundle_path_in_config,
                   "--data-dir": args.data_dir}
    if args.action != "enroll":
        given = [name for name, value in enroll_only.items() if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)}: only for `kiosk config enroll`")
    if args.action == "enroll":
        if args.bundle is None:
            raise ConfigError("kiosk config enroll needs --bundle DIR (the folder written by "
                              "`backoffice enroll`)")
        target = Path(args.config or os.environ.get("KIOSK_CONFIG") or SYSTEM_CONFIG)
        result = enroll(target, args.bundle, bundle_path=args.bundle_path_in_config,
                        data_dir=args.data_dir)
        for line in result.lines():
            print(line)
        return 0
    config = load_config(args.config)
    if args.action == "check":
        # A bad catalog stops the kiosk, so the check fails with it; its warnings (contacts a
        # deployment still has to set, translations that fall back to French) go to stderr.
        load_catalog(languages=config.kiosk.languages)
        print(f"{config.path or '<defaults>'}: ok")
        return 0
    shown: dict[str, Any] = {}
    for f in fields(config):
        if f.name == "path":
            continue
        shown[f.name] = asdict(getattr(config, f.name))
    print(json.dumps(shown, indent=2, default=str, ensure_ascii=False))
    return 0


# ------------------------------------------------------------------ enroll


@dataclass(frozen=True)
class Enrolled:
    """What ``enroll`` did to the file."""

    path: Path
    kiosk_id: str
    settings: dict[str, dict[str, str]]   # {section: {key: value}} as set
    changed: bool
    created: bool
    config: Config

    def lines(self) -> list[str]:
        shown = _shown(self.settings)
        if self.created:
            verb = "written"
        elif self.changed:
            verb = "updated"
        else:
            verb = "already up to date"
        return [f"{self.path}: {verb} for kiosk {self.kiosk_id}: {shown}",
                f"{self.path}: ok"]


def _shown(settings: Mapping[str, Mapping[str, str]]) -> str:
    return "; ".join(f"[{section}] " + ", ".join(f"{key} = {toml_string(value)}"
                                                 for key, value in keys.items())
                     for section, keys in settings.items())


def enroll(path: Path, bundle: Path, *, bundle_path: Path | None = None,
           data_dir: Path | None = None) -> Enrolled:
    """Merge the enrollment ``bundle`` into the configuration file ``path`` (see the module).

    Raises :class:`ConfigError` with one line (bundle unusable, file unreadable or
    not editable automatically, result not a valid configuration); the file is
    then left as it was.
    """
    # Imported here: deposit.bundle brings the HTTP client, which check/show do not need.
    from deposit.bundle import Enrollment
    from deposit.errors import DepositError

    try:
        enrollment = Enrollment.load(bundle)
    except DepositError as exc:
        raise ConfigError(f"cannot enroll from {bundle}: {exc}") from None
    in_config = bundle_path if bundle_path is not None else bundle.resolve()
    settings: dict[str, dict[str, str]] = {"kiosk": {"id": enrollment.kiosk_id,
                                                     "code": enrollment.fleet_code}}
    if data_dir is not None:
        settings["kiosk"]["data_dir"] = str(data_dir)
    settings["upload"] = {"bundle": str(in_config)}

    created = not path.exists()
    if created:
        text = (f"# Configuration of deposit kiosk {enrollment.kiosk_id}, written by "
                f"`kiosk config enroll`.\n# Every key is described in kiosk.example.toml.\n")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read ({exc})") from None
    merged = merge_settings(text, settings, where=str(path))
    try:
        tomllib.loads(merged)
    except tomllib.TOMLDecodeError as exc:   # e.g. an inline table `kiosk = {...}`
        raise ConfigError(f"{path}: the enrollment cannot be merged line by line ({exc}); "
                          f"set {_shown(settings)} by hand") from None
    config = parse_config(merged, where=str(path), path=path)
    _check_applied(config, settings, path)
    changed = merged != text
    if changed or created:
        write_atomically(path, merged)
    return Enrolled(path=path, kiosk_id=enrollment.kiosk_id, settings=settings,
                    changed=changed, created=created, config=config)


def _check_applied(config: Config, settings: Mapping[str, Mapping[str, str]], path: Path) -> None:
    """The parsed result holds what was asked (a key set some other way, e.g. as a dotted
    key elsewhere, would not be replaced by a line-based edit)."""
    for section, keys in settings.items():
        table = getattr(config, section)
        for key, wanted in keys.items():
            got = getattr(table, key)
            if str(got) != wanted:
                raise ConfigError(
                    f"{path}: [{section}] {key} could not be set to {toml_string(wanted)} "
                    f"automatically (the file gives {str(got)!r}); set it by hand")


# ------------------------------------------------------------------ line-based TOML edit

_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[")
_ASSIGNMENT = re.compile(
    r"""^(?P<indent>\s*)(?P<key>[A-Za-z0-9_-]+|"[^"\\]*"|'[^']*')(?P<eq>\s*=\s*)(?P<rest>.*)$""")
_COMMENTED = re.compile(r"^(?P<indent>\s*)#\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<rest>\S.*)$")


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _parses(value: str) -> bool:
    try:
        tomllib.loads(f"v = {value}\n")
    except tomllib.TOMLDecodeError:
        return False
    return True


def _split_comment(rest: str) -> tuple[str, str] | None:
    """``rest`` of one line as (value, trailing comment with the spaces before it), or None
    when no prefix of it is a whole TOML value (the value goes on to the next lines)."""
    for match in re.finditer("#", rest):
        head = rest[:match.start()]
        if head.strip() and _parses(head):
            value = head.rstrip()
            return value, rest[len(value):]
    if _parses(rest):
        value = rest.rstrip()
        return value, rest[len(value):]
    return None


@dataclass
class _Assignment:
    section: str
    key: str
    start: int          # first line
    end: int            # last line (a multi-line array or string ends further down)
    indent: str
    eq: str
    tail: str           # the trailing comment, with its leading spaces


@dataclass
class _Layout:
    headers: dict[str, int]                  # section -> line of its [header]
    assignments: list[_Assignment]
    commented: dict[tuple[str, str], int]    # (section, key) -> first '# key = value' line


def _scan(lines: list[str], where: str) -> _Layout:
    headers: dict[str, int] = {}
    assignments: list[_Assignment] = []
    commented: dict[tuple[str, str], int] = {}
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _HEADER.match(line)
        if header or _ARRAY_HEADER.match(line):
            # An array of tables is never one of ours: a name no setting can have.
            section = header.group(1).strip().strip('"') if header else line.strip()
            headers.setdefault(section, i)
            i += 1
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            key = assignment["key"].strip("\"'")
            end, split = i, _split_comment(assignment["rest"])
            while split is None:            # a multi-line array or string: find its end
                end += 1
                if end >= len(lines):
                    raise ConfigError(f"{where}:{i + 1}: the value of {key} does not end")
                split = _split_comment("\n".join([assignment["rest"], *lines[i + 1:end + 1]]))
            assignments.append(_Assignment(section, key, i, end, assignment["indent"],
                                           assignment["eq"], split[1]))
            i = end + 1
            continue
        commented_out = _COMMENTED.match(line)
        if commented_out and _split_comment(commented_out["rest"]) is not None:
            commented.setdefault((section, commented_out["key"]), i)
        i += 1
    return _Layout(headers, assignments, commented)


def merge_settings(text: str, settings: Mapping[str, Mapping[str, str]], *,
                   where: str = "<config>") -> str:
    """Set string ``settings`` ({section: {key: value}}) in the TOML ``text``, line by line.

    An assignment of the key in its section is replaced (its trailing comment
    kept); else a commented-out ``# key = ...`` line of the section is replaced;
    else the key goes after the section's last assignment (after its header
    when it has none); a missing section is appended at the end of the file.
    Nothing else changes. The caller checks the result (it is not parsed here).
    """
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    # Edits as (first line, last line, replacement lines); applied bottom-up so that
    # the line numbers of the scan stay right.
    edits: list[tuple[int, int, list[str]]] = []
    appended: list[str] = []
    layout = _scan(lines, where)
    for section, keys in settings.items():
        pending: list[str] = []
        for key, value in keys.items():
            found = [a for a in layout.assignments if a.section == section and a.key == key]
            if found:
                a = found[0]
                edits.append((a.start, a.end, [f"{a.indent}{key}{a.eq}{toml_string(value)}"
                                               f"{a.tail}"]))
            elif (section, key) in layout.commented:
                i = layout.commented[(section, key)]
                indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
                edits.append((i, i, [f"{indent}{key} = {toml_string(value)}"]))
            else:
                pending.append(f"{key} = {toml_string(value)}")
        if not pending:
            continue
        if section not in layout.headers:
            appended += ["", f"[{section}]", *pending]
            continue
        own = [a for a in layout.assignments if a.section == section]
        after = max(a.end for a in own) if own else layout.headers[section]
        edits.append((after + 1, after, pending))           # an insertion: nothing replaced
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[start:end + 1] = replacement
    if appended:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += appended if lines else appended[1:]
    return newline.join(lines) + newline


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text``: a temporary file in the same folder, fsynced, renamed,
    the folder fsynced. An existing file's mode (and owner, when run as root) is kept."""
    try:
        previous = path.stat()
    except FileNotFoundError:
        previous = None
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), previous.st_mode & 0o7777 if previous else 0o644)
            if previous is not None and os.geteuid() == 0:
                os.fchown(out.fileno(), previous.st_uid, previous.st_gid)
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise ConfigError(f"{path}: cannot be written ({exc})") from None
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
