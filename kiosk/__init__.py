"""The deposit kiosk application: configuration, citizen journey, diagnostics, CLI.

Only :mod:`kiosk.ui` imports Kivy.
"""

__version__ = "0.1.0"
