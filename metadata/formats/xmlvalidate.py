"""Validation of the PBCore and PREMIS sidecars against the schemas shipped in resources/."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from lxml import etree

from metadata.errors import HeadblockError
from resources import resource_path

SCHEMA_FILES = {"pbcore": "pbcore-2.1.xsd", "premis": "premis-3.0.xsd"}
MAX_LISTED = 5

_cache: dict[str, etree.XMLSchema] = {}
_lock = threading.Lock()


class XMLValidationError(HeadblockError):
    """A document that does not conform to its schema; ``errors`` holds every violation."""

    def __init__(self, message: str, errors: list[str]):
        super().__init__(message)
        self.errors = errors


def schema(name: str) -> etree.XMLSchema:
    """The parsed schema, loaded once per process (parsing PBCore's XSD takes ~50 ms)."""
    if name not in SCHEMA_FILES:
        raise HeadblockError(f"unknown schema {name!r} (expected one of {', '.join(SCHEMA_FILES)})")
    with _lock:
        if name not in _cache:
            # The shipped XSDs import nothing remote; never touch the network anyway.
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            doc = etree.parse(str(resource_path(SCHEMA_FILES[name])), parser)
            _cache[name] = etree.XMLSchema(doc)
        return _cache[name]


def _load(path_or_tree) -> tuple[etree._ElementTree, str]:
    if isinstance(path_or_tree, etree._ElementTree):
        return path_or_tree, "document"
    if isinstance(path_or_tree, etree._Element):
        return path_or_tree.getroottree(), "document"
    path = Path(os.fspath(path_or_tree))
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        return etree.parse(str(path), parser), str(path)
    except OSError as exc:
        raise HeadblockError(f"cannot read {path}: {exc}") from exc
    except etree.XMLSyntaxError as exc:
        raise XMLValidationError(f"{path} is not well-formed XML: {exc}", [str(exc)]) from exc


def validate(path_or_tree, schema_name: str) -> etree._ElementTree:
    """Validate a file, tree or element; returns the tree, or raises XMLValidationError
    naming the first violations (line and message)."""
    xsd = schema(schema_name)
    tree, label = _load(path_or_tree)
    if xsd.validate(tree):
        return tree
    errors = [f"line {e.line}: {e.message}" for e in xsd.error_log]
    shown = "; ".join(errors[:MAX_LISTED])
    more = f" (and {len(errors) - MAX_LISTED} more)" if len(errors) > MAX_LISTED else ""
    raise XMLValidationError(f"{label} is not valid {schema_name}: {shown}{more}", errors)


def write_validated(tree, path, schema: str):
    """Validate ``tree`` against ``schema``, write it, validate the written bytes, then let it
    replace ``path``: an invalid document never lands."""
    from metadata.files import atomic_path

    path = Path(path)
    validate(tree, schema)
    with atomic_path(path) as tmp:
        tree.write(str(tmp), xml_declaration=True, encoding="UTF-8", pretty_print=True)
        validate(tmp, schema)
    return path
