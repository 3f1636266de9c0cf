"""Staff roles, what each may do, and the names of what the audit trail records.

Three roles, in the spirit of démarches-simplifiées' instructeur and
administrateur, with least privilege for the one who runs the machine:

- **instructor**: reads the inbox and the dossiers, fetches envelopes to
  decrypt them, takes a dossier (assigns it to themself), annotates, decides,
  exports the inbox;
- **supervisor**: what an instructor does, plus assigning dossiers to others,
  reading the audit trail and the fleet view (the kiosks' health, alerts, ratings);
- **administrator**: manages accounts, reads the audit trail and the fleet view; reads no
  dossier and decides nothing (the person who runs the service is not the
  person who instructs the citizens' requests).

These values are stored (``staff.role``, ``audit.action``, ``audit.outcome``),
sent by the staff API and shown in the workspace: keep them stable.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Role(StrEnum):
    INSTRUCTOR = "instructor"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"


class Permission(StrEnum):
    VIEW = "view"                  # the inbox, a dossier's facts, history and annotations
    FETCH = "fetch"                # an envelope and its signed manifest
    ANNOTATE = "annotate"
    TAKE = "take"                  # assign a dossier to oneself (or give it up)
    ASSIGN = "assign"              # assign a dossier to anyone
    DECIDE = "decide"              # change a dossier's status, with its message
    EXPORT = "export"              # the inbox as CSV
    AUDIT = "audit"                # the audit trail
    MANAGE = "manage"              # accounts (through ``backoffice staff`` on the server)
    FLEET = "fleet"                # the kiosks' health, alerts and ratings (no dossier in it)


_INSTRUCTOR = frozenset({Permission.VIEW, Permission.FETCH, Permission.ANNOTATE, Permission.TAKE,
                         Permission.DECIDE, Permission.EXPORT})

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.INSTRUCTOR: _INSTRUCTOR,
    Role.SUPERVISOR: _INSTRUCTOR | {Permission.ASSIGN, Permission.AUDIT, Permission.FLEET},
    Role.ADMINISTRATOR: frozenset({Permission.AUDIT, Permission.MANAGE, Permission.FLEET}),
}


class Action(StrEnum):
    """What the audit trail records, one entry per request of a staff member."""

    SIGN_IN = "sign_in"            # the workspace or a CLI command opened a session (GET /me)
    INBOX = "inbox"                # listed the inbox (the filters in the detail)
    EXPORT = "export"
    VIEW = "view"                  # opened a dossier's facts
    FETCH = "fetch"                # downloaded an envelope
    ASSIGN = "assign"
    ANNOTATE = "annotate"
    DECIDE = "decide"              # a status change (from → to in the detail)
    AUDIT = "audit"                # read the audit trail
    AGENT_CALLS = "agent_calls"    # listed citizens' calls for an agent
    ACK_CALL = "ack_call"          # said "I saw it" to a call
    ACCOUNT = "account"            # added, disabled, re-issued an account (server CLI)
    REQUEST_DOCUMENTS = "request_documents"  # asked the citizen for missing documents
    WITHDRAW_REQUEST = "withdraw_request"    # withdrew an open request for documents
    ANSWER_REQUEST = "answer_request"        # a complement answered a request (actor "kiosk")
    FLEET = "fleet"                # read the fleet view (kiosks' health and alerts)


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"            # not allowed, or outside the rules (the detail says why)


#: An account name: what the audit trail shows and what `@me`/`@none` cannot be.
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
