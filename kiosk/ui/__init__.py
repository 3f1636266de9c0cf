"""The Kivy interface, the only place that imports Kivy: one thin Screen and .kv file per state."""
