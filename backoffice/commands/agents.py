"""``backoffice agents``: the citizens waiting for a person at a kiosk, and saying "I saw it".

``backoffice agents`` lists the open calls (kiosk, its fleet code, the step of
the journey, how long ago); ``--follow`` keeps printing calls as they arrive
(the store is read every half second, so a call shows within a second of
reaching the back office) and says when one is acknowledged; ``--json`` prints
one JSON document, or with ``--follow`` one JSON object a line.
``backoffice agents ack CALL_ID --by NAME`` marks a call seen: the kiosk's
screen then tells the citizen someone is coming (within a few seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import agentcalls
from backoffice.errors import SetupError
from backoffice.settings import load_settings
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import MetadataStore
from deposit.agentcall import CallState

#: Seconds between two reads of the store with --follow.
FOLLOW_EVERY_S = 0.5


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("agents", parents=parents, help="list citizens' calls for an agent",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                        help="the back office's data folder (required)")
    parser.add_argument("--follow", action="store_true",
                        help="keep printing calls as they arrive (Ctrl-C ends)")
    parser.add_argument("--json", action="store_true", help="JSON (one object a line with "
                                                            "--follow)")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    ack = actions.add_parser("ack", parents=parents, help="mark a call seen",
                             description="Mark a call seen: the kiosk tells the citizen that "
                                         "someone saw the call.")
    ack.add_argument("call_id", metavar="CALL_ID")
    ack.add_argument("--by", required=True, metavar="NAME",
                     help="who saw it (shown on the kiosk's screen)")
    ack.add_argument("--data", type=Path, default=argparse.SUPPRESS, metavar="DIR")
    ack.add_argument("--json", action="store_true", help="print the call as JSON")
    ack.set_defaults(func=run_ack)


def _open(args: argparse.Namespace) -> MetadataStore:
    data = getattr(args, "data", None)
    if data is None:
        raise SetupError("--data DIR is required (the back office's data folder)")
    store = open_metadata(load_settings(data).metadata)
    try:
        store.init_schema()
    except BaseException:
        store.close()
        raise
    return store


def run(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        calls = agentcalls.open_calls(store, datetime.now(UTC))
        if args.follow:
            return follow(store, calls, as_json=args.json)
        if args.json:
            print(json.dumps([c.as_dict() for c in calls], indent=2, ensure_ascii=False))
        elif not calls:
            print("no open agent call")
        else:
            for call in calls:
                print(call.line())
    finally:
        store.close()
    return 0


def follow(store: MetadataStore, first: list[agentcalls.OpenCall], *, as_json: bool) -> int:
    """Print ``first``, then each call as it arrives and each open one as it is seen; until
    interrupted."""
    def show(call: agentcalls.OpenCall) -> None:
        if as_json:
            print(json.dumps(call.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(call.line(), flush=True)

    if not as_json:
        print(f"{len(first)} open agent call(s); waiting for more (Ctrl-C ends)", flush=True)
    shown: set[str] = set()
    waiting: set[str] = set()
    for call in first:
        show(call)
        shown.add(call.call_id)
        waiting.add(call.call_id)
    while True:
        time.sleep(FOLLOW_EVERY_S)
        now = datetime.now(UTC)
        calls = agentcalls.open_calls(store, now)
        still = {c.call_id for c in calls}
        for call_id in sorted(waiting - still):
            record = store.agent_call(call_id)
            if record is not None:
                show(agentcalls.describe(store, [record], now)[0])
        waiting &= still
        for call in calls:
            if call.call_id not in shown:
                show(call)
                shown.add(call.call_id)
                waiting.add(call.call_id)
        sys.stdout.flush()


def run_ack(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        call = agentcalls.acknowledge(store, args.call_id, args.by, datetime.now(UTC))
    finally:
        store.close()
    if args.json:
        print(json.dumps(call.as_dict(), ensure_ascii=False))
    elif call.state is CallState.SEEN and call.seen_by != args.by.strip():
        print(f"{call.call_id}: already seen by {call.seen_by} at {call.seen_at:%H:%M:%S}")
    else:
        print(f"{call.call_id}: seen by {call.seen_by}; kiosk {call.kiosk_id} will tell the "
              f"citizen")
    return 0
