"""The page pipeline on numpy images: detect, rectify, enhance, assess, compress.

No Kivy, no devices: frames come in as arrays, pages go out as arrays and bytes.
"""
