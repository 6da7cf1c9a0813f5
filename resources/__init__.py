"""Data files shipped with Headblock: schemas, QC profiles, style sheet, report templates."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """Path of a shipped resource file (e.g. ``pbcore-2.1.xsd``, ``profiles/default.toml``)."""
    return RESOURCES_DIR / name
