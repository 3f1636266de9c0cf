"""The technician's service mode without its screens: checks, logs, access, the mode itself.

Everything here is free of Kivy, so that ``kiosk diag`` (the command line), the
service screens (kiosk/ui/) and the heartbeat share one answer to "how is this
kiosk?". Each module is usable on its own: a screen runs one check at a time.
"""
