"""Headless metadata layer: naming, BWF chunks, PBCore, PREMIS, fixity, logs, catalogue."""

__version__ = "0.1.0"
SOFTWARE_NAME = "Headblock"
