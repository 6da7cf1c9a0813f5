"""QC profiles: TOML files of thresholds per check, merged over the table's defaults.

A profile is named (``default``, ``strict``, ``tolerant`` in ``resources/profiles/``) or given
by path. Each table ``[check_id]`` may set ``enabled`` and any threshold of that check in
``qc.table.CHECKS``; ``[profile]`` holds ``name`` and ``description``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from metadata.errors import HeadblockError
from metadata.files import read_toml
from qc.table import CHECKS
from resources import resource_path

PROFILES_DIR = resource_path("profiles")


@dataclass
class Profile:
    name: str
    description: str = ""
    source: Path | None = None
    checks: dict[str, dict] = field(default_factory=dict)  # id -> {"enabled": ..., thresholds}

    def enabled(self, check_id: str) -> bool:
        return bool(self.checks[check_id]["enabled"])

    def thresholds(self, check_id: str) -> dict:
        return self.checks[check_id]

    def get(self, check_id: str, name: str):
        return self.checks[check_id][name]


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def default_profile() -> Profile:
    return Profile(
        "default", "table defaults", None, {cid: spec.defaults() for cid, spec in CHECKS.items()}
    )


def _resolve(name_or_path) -> Path:
    s = str(name_or_path)
    p = Path(s)
    if s.endswith(".toml") or "/" in s or "\\" in s or p.exists():
        if not p.is_file():
            raise HeadblockError(f"profile file {s} does not exist")
        return p
    candidate = PROFILES_DIR / f"{s}.toml"
    if not candidate.is_file():
        raise HeadblockError(
            f"unknown QC profile {s!r} (available: {', '.join(available_profiles())}; or give a path to a .toml file)"
        )
    return candidate


def _coerce(where: str, default, value):
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise HeadblockError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise HeadblockError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise HeadblockError(f"{where}: expected a finite number, got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool):
            if float(value) != int(value):
                raise HeadblockError(f"{where}: expected a whole number, got {value!r}")
            return int(value)
        return float(value)
    if not isinstance(value, str):
        raise HeadblockError(f"{where}: expected text, got {value!r}")
    return value


def profile_from_dict(data: dict, name: str = "custom", source: Path | None = None) -> Profile:
    """Merge a parsed profile over the table defaults; unknown keys or bad values raise."""
    prof = default_profile()
    prof.name, prof.source = name, source
    label = str(source) if source else name
    for key, section in data.items():
        if key == "profile":
            if not isinstance(section, dict):
                raise HeadblockError(f"profile {label}: [profile] must be a table")
            for k, v in section.items():
                if k not in ("name", "description"):
                    raise HeadblockError(f"profile {label}: unknown key profile.{k}")
                if not isinstance(v, str):
                    raise HeadblockError(f"profile {label}: profile.{k} must be text")
            prof.name = section.get("name", prof.name)
            prof.description = section.get("description", "")
            continue
        if key not in CHECKS:
            raise HeadblockError(
                f"profile {label}: unknown check {key!r} (known: {', '.join(CHECKS)})"
            )
        if not isinstance(section, dict):
            raise HeadblockError(f"profile {label}: {key} must be a table of thresholds")
        current = prof.checks[key]
        for k, v in section.items():
            if k not in current:
                raise HeadblockError(
                    f"profile {label}: unknown key {key}.{k} (known: {', '.join(current)})"
                )
            current[k] = _coerce(f"profile {label}: {key}.{k}", current[k], v)
    return prof


def load_profile(name_or_path="default") -> Profile:
    """A profile by name (resources/profiles/NAME.toml) or path; a Profile passes through."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    path = _resolve(name_or_path)
    data = read_toml(path, "profile")
    return profile_from_dict(data, name=path.stem, source=path)
