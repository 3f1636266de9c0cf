"""The staff workspace: a web application that runs on the staff member's own workstation.

Like SecureDrop's workstation, it is where plaintext exists, and the only
place: it holds the staff member's profile (their personal certificate, whose
key their passphrase opens) and the staff identity (the age key), talks to the
staff API (backoffice/staffapi.py) to list and fetch envelopes, decrypts them
here and shows the pages to the local browser only.

- :mod:`.dossiers` opens an envelope: verify it against the kiosk-signed
  manifest, decrypt it in a private temporary folder, read ``deposit.json``
  and the pages of ``dossier.pdf`` into memory, remove the files.
- :mod:`.web` is the Starlette application: bound to 127.0.0.1, a launch
  secret exchanged for a session cookie, the Host header pinned, a CSRF token
  on every form, a strict Content-Security-Policy, sign-in with the passphrase,
  a lock after inactivity that forgets the key and every decrypted page.

``backoffice workspace --profile DIR --identity FILE`` runs it (docs/workspace.md).
"""
