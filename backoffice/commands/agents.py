"""``backoffice agents``: the citizens waiting for a person at a kiosk, and saying "I saw it".

``backoffice agents`` lists the open calls (kiosk, its fleet code, the step of
the journey, how long ago); ``--follow`` keeps printing calls as they arrive
(the staff API is asked every half second, so a call shows within a second of
reaching the back office) and says when one is acknowledged; ``--json`` prints
one JSON document, or with ``--follow`` one JSON object a line.
``backoffice agents ack CALL_ID [--by NAME]`` marks a call seen: the kiosk's
screen then tells the citizen someone is coming (within a few seconds).
Both go through the staff API with your profile (``--profile``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import Any

from backoffice import staffclient
from backoffice.agentcalls import OpenCall
from backoffice.errors import StaffToolError
from backoffice.staffclient import StaffClient
from deposit.agentcall import CallState

#: Seconds between two questions to the staff API with --follow (one kept-alive connection).
FOLLOW_EVERY_S = 0.5


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("agents", parents=parents, help="list citizens' calls for an agent",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    staffclient.add_arguments(parser)
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
    ack.add_argument("--by", default=None, metavar="NAME",
                     help="the name the kiosk shows (default: your account's full name)")
    staffclient.add_arguments(ack)
    ack.add_argument("--json", action="store_true", help="print the call as JSON")
    ack.set_defaults(func=run_ack)


def _calls(client: StaffClient) -> list[OpenCall]:
    return [OpenCall.from_dict(c) for c in client.get("/agent-calls")["calls"]]


def run(args: argparse.Namespace) -> int:
    with staffclient.open_client(args) as client:
        calls = _calls(client)
        if args.follow:
            return follow(client, calls, as_json=args.json)
    if args.json:
        print(json.dumps([c.as_dict() for c in calls], indent=2, ensure_ascii=False))
    elif not calls:
        print("no open agent call")
    else:
        for call in calls:
            print(call.line())
    return 0


def follow(client: StaffClient, first: list[OpenCall], *, as_json: bool) -> int:
    """Print ``first``, then each call as it arrives and each open one as it is seen; until
    interrupted."""
    def show(call: OpenCall) -> None:
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
    failing = False
    while True:
        time.sleep(FOLLOW_EVERY_S)
        try:
            calls = _calls(client)
        except StaffToolError as exc:
            # The network or the service is down for a while: say it once, keep watching.
            if not failing:
                print(f"backoffice: {exc}; trying again every {FOLLOW_EVERY_S} s",
                      file=sys.stderr, flush=True)
            failing = True
            continue
        if failing:
            print("backoffice: the staff API answers again", file=sys.stderr, flush=True)
            failing = False
        still = {c.call_id for c in calls}
        for call_id in sorted(waiting - still):
            with contextlib.suppress(StaffToolError):
                show(OpenCall.from_dict(client.get(f"/agent-calls/{call_id}")))
        waiting &= still
        for call in calls:
            if call.call_id not in shown:
                show(call)
                shown.add(call.call_id)
                waiting.add(call.call_id)
        sys.stdout.flush()


def run_ack(args: argparse.Namespace) -> int:
    with staffclient.open_client(args) as client:
        body = {"by": args.by} if args.by else {}
        call = OpenCall.from_dict(client.post(f"/agent-calls/{args.call_id}/ack", body))
    if args.json:
        print(json.dumps(call.as_dict(), ensure_ascii=False))
    elif call.state is CallState.SEEN and args.by and call.seen_by != args.by.strip():
        print(f"{call.call_id}: already seen by {call.seen_by} at {call.seen_at:%H:%M:%S}")
    else:
        print(f"{call.call_id}: seen by {call.seen_by}; kiosk {call.kiosk_id} will tell the "
              f"citizen")
    return 0
