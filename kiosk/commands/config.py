"""``kiosk config check``: load the configuration and report it, or the one line that is wrong."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, fields
from typing import Any

from kiosk.config import load_config


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", parents=parents, help="check and show the configuration")
    parser.add_argument("action", choices=["check", "show"], help="check: exit 0 if usable; "
                        "show: print every key with its value as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.action == "check":
        print(f"{config.path or '<defaults>'}: ok")
        return 0
    shown: dict[str, Any] = {}
    for f in fields(config):
        if f.name == "path":
            continue
        shown[f.name] = asdict(getattr(config, f.name))
    print(json.dumps(shown, indent=2, default=str, ensure_ascii=False))
    return 0
