"""What the station writes about a take, without Qt: ``formats`` (BWF, PBCore, PREMIS, MD5,
framemd5, XML validation, pixel formats), ``take`` (names, record, description, capture log),
``review`` (marks, sign-off, verify), ``catalogue`` (the database); and at this level the small
facts every layer shares (errors, progress, settings, verdicts, atomic files, UTC time)."""

__version__ = "0.1.0"
SOFTWARE_NAME = "Headblock"
