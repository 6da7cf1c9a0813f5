"""PREMIS 3 record of a take: the master file (fixity, size, format), its events, its agents.

Event types are labels of the Library of Congress vocabulary
http://id.loc.gov/vocabulary/preservation/eventType (see EVENT_TYPES): a take's life is
``capture`` -> ``message digest calculation`` -> ``validation`` (QC) -> ``metadata modification``
(review marks) -> ``appraisal`` (supervisor sign-off: approved or rejected), with
``fixity check`` for every later verification and ``recovery`` for a take repaired after a crash.
An access copy is a second ``file`` object (``derivation`` / ``has source`` the master) with a
``creation`` event linking the master (role ``source``) and the copy (role ``outcome``).
``add_event`` and ``add_derivative`` append to an existing document under a file lock and
re-validate it. An event whose identifier the document already holds is not added again; inside
``keyed_events(KEY)`` events get identifiers made from KEY, so the same work done twice (a batch
task run again after its worker died) records each event once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from metadata.clock import parse_utc, utc_iso
from metadata.errors import HeadblockError
from metadata.formats.xmlvalidate import validate, write_validated
from metadata.take.record import DerivativeRecord, TakeRecord, software_string

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{PREMIS_NS} https://www.loc.gov/standards/premis/premis.xsd"
_P = f"{{{PREMIS_NS}}}"
_VOCAB = "http://id.loc.gov/vocabulary/preservation/"

# label -> code in id.loc.gov's eventType vocabulary
EVENT_TYPES = {
    "capture": "cap",
    "message digest calculation": "mes",
    "fixity check": "fix",
    "validation": "val",
    "metadata modification": "mem",
    "appraisal": "app",
    "quarantine": "qua",
    "unquarantine": "unq",
    "recovery": "rec",
    "creation": "cre",
    "modification": "mod",
    "format identification": "for",
    "metadata extraction": "mee",
    "replication": "rep",
    "transfer": "tra",
    "deletion": "del",
    "information package creation": "ipc",
}
# id.loc.gov eventRelatedAgentRole labels
AGENT_ROLES = ("executing program", "implementer", "authorizer", "validator")
AGENT_TYPES = ("software", "person", "hardware", "organization")


@dataclass(frozen=True)
class PremisAgent:
    identifier: str  # local identifier, e.g. "software:Headblock 0.1.0"
    name: str
    type: str  # one of AGENT_TYPES
    version: str = ""
    note: str = ""


@dataclass
class PremisEvent:
    type: str  # a label of EVENT_TYPES
    datetime: datetime | None = None  # None: the moment it is written
    detail: str = ""
    outcome: str = ""  # "success", "failure", "warning", or a QC verdict / decision
    outcome_detail: str = ""
    agent_roles: list[tuple[str, str]] = field(default_factory=list)  # (agent identifier, role)
    identifier: str = ""  # assigned when written if empty
    # (object identifier, eventRelatedObjectRole) when the event links more than the master
    linked_objects: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- agents


def software_agent(software: str) -> PremisAgent:
    """From ``TakeRecord.software`` ("Headblock 0.1.0")."""
    name, _, version = software.rpartition(" ")
    if not name:
        name, version = software, ""
    return PremisAgent(f"software:{software}", name, "software", version)


def person_agent(name: str, note: str = "") -> PremisAgent:
    name = " ".join(name.split())
    if not name:
        raise HeadblockError("a person agent needs a name")
    return PremisAgent(f"person:{name}", name, "person", note=note)


def host_agent(hostname: str) -> PremisAgent:
    return PremisAgent(f"hardware:{hostname}", hostname, "hardware", note="capture station")


def record_agents(record: TakeRecord) -> list[PremisAgent]:
    agents = [software_agent(record.software)]
    if record.meta.technician.strip():
        agents.append(person_agent(record.meta.technician, note="technician"))
    if record.station:
        agents.append(host_agent(record.station))
    return agents


def _agent_from_identifier(agent_id: str) -> PremisAgent:
    """Rebuild an agent named only by its identifier ("software:…", "person:…", "hardware:…")."""
    kind, _, name = agent_id.partition(":")
    makers = {"software": software_agent, "person": person_agent, "hardware": host_agent}
    if kind not in makers or not name.strip():
        raise HeadblockError(f"PREMIS event names an unknown agent {agent_id!r}")
    return makers[kind](name)


def _default_role(agent: PremisAgent) -> str:
    return {"software": "executing program", "person": "implementer"}.get(agent.type, "")


def _roles(agents: list[PremisAgent]) -> list[tuple[str, str]]:
    return [(a.identifier, _default_role(a)) for a in agents]


# --------------------------------------------------------------------------- standard events


def capture_event(record: TakeRecord) -> PremisEvent:
    a = record.audio
    v = record.video
    parts = [f"{record.kind} take from {record.device}"]
    if record.meta.carrier_label:
        parts.append(f"carrier {record.meta.carrier_label}")
    if record.meta.deck:
        parts.append(f"deck {record.meta.deck}")
    if v:
        parts.append(
            f"{v.codec} {v.codec_version} {v.width}x{v.height} {v.pix_fmt} {v.frame_rate} fps"
        )
    if a:
        parts.append(f"{a.codec} {a.rate_hz} Hz {a.bits}-bit {a.channels} ch in {a.container}")
    parts.append(f"{record.duration_s:.3f} s")
    lossless = record.frames_lost == 0 and record.overflows == 0
    outcome = "success" if record.outcome == "complete" and lossless else "warning"
    detail = f"outcome {record.outcome}; {record.frames_lost} lost, {record.overflows} overflows"
    return PremisEvent(
        "capture",
        record.started_utc,
        "; ".join(parts),
        outcome,
        detail,
        _roles(record_agents(record)),
    )


def digest_event(record: TakeRecord) -> PremisEvent:
    return PremisEvent(
        "message digest calculation",
        record.ended_utc,
        "MD5 of the master computed while writing and verified over the closed file",
        "success",
        f"MD5 {record.md5}",
        [(software_agent(record.software).identifier, "executing program")],
    )


def default_events(record: TakeRecord) -> list[PremisEvent]:
    return [capture_event(record), digest_event(record)]


def fixity_check_event(when: datetime, ok: bool, detail: str, software: str) -> PremisEvent:
    return PremisEvent(
        "fixity check",
        when,
        "MD5 of the master re-computed and compared with its .md5 sidecar",
        "success" if ok else "failure",
        detail,
        [(software_agent(software).identifier, "executing program")],
    )


def qc_event(when: datetime, verdict: str, detail: str, software: str) -> PremisEvent:
    """Automatic QC: outcome is the QC verdict (pass / warn / fail)."""
    return PremisEvent(
        "validation",
        when,
        "automatic quality control of the master",
        verdict,
        detail,
        [(software_agent(software).identifier, "executing program")],
    )


def derivation_event(record: DerivativeRecord) -> PremisEvent:
    """An access copy made from the master: the master is its source, the copy its outcome."""
    detail = f"access copy ({record.profile} profile) made from the master: {record.process}"
    if record.loudness:
        detail += f"; loudness: {record.loudness}"
    return PremisEvent(
        "creation",
        record.created_utc,
        detail,
        "success",
        f"{Path(record.path).name}: {record.size_bytes} bytes, MD5 {record.md5}",
        [(software_agent(record.software).identifier, "executing program")],
        linked_objects=[(Path(record.master).name, "source"), (Path(record.path).name, "outcome")],
    )


def review_event(when: datetime, reviewer: str, detail: str) -> PremisEvent:
    return PremisEvent(
        "metadata modification",
        when,
        "reviewer marks on QC events",
        "success",
        detail,
        [(person_agent(reviewer).identifier, "implementer")],
    )


def signoff_event(when: datetime, by: str, decision: str, comment: str = "") -> PremisEvent:
    """Supervisor sign-off: outcome is the decision (approved / rejected)."""
    return PremisEvent(
        "appraisal",
        when,
        "supervisor sign-off of the QC report",
        decision,
        comment,
        [(person_agent(by).identifier, "authorizer")],
    )


def package_event(
    when: datetime, package: str, layout: str, detail: str, software: str
) -> PremisEvent:
    """The master went into a package a repository can ingest (a BagIt bag, a transfer)."""
    return PremisEvent(
        "information package creation",
        when,
        f"{layout} package {package}",
        "success",
        detail,
        [(software_agent(software).identifier, "executing program")],
    )


# --------------------------------------------------------------------------- XML


def _sub(parent, tag: str, text=None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, _P + tag, {k: str(v) for k, v in attrs.items() if v})
    if text is not None:
        el.text = str(text)
    return el


def _identifier(parent, tag: str, value: str, kind: str = "local") -> None:
    holder = _sub(parent, tag)
    _sub(holder, f"{tag}Type", kind)
    _sub(holder, f"{tag}Value", value)


def _format_name(record: TakeRecord) -> tuple[str, str, str]:
    """(formatName, formatVersion, note)"""
    a, v = record.audio, record.video
    if record.kind == "video" and v:
        note = f"{v.codec} {v.codec_version}, {v.width}x{v.height} {v.pix_fmt}, {v.frame_rate} fps"
        if a:
            note += f"; audio {a.codec} {a.rate_hz} Hz {a.bits}-bit {a.channels} ch"
        return "Matroska", "", note
    if a is None:
        raise HeadblockError(f"take {record.identifier} has no essence description")
    name = "RF64" if a.container == "RF64" else "Broadcast WAVE"
    return name, "2", f"PCM {a.rate_hz} Hz {a.bits}-bit {a.channels} ch; bext version 2"


def _file_object(name: str, md5: str, originator: str, size_bytes: int):
    """A ``file`` object with its identifier, fixity (when known) and size; returns the object
    and its ``objectCharacteristics`` for the caller to add the format."""
    obj = etree.Element(_P + "object")
    obj.set(f"{{{XSI_NS}}}type", "file")
    _identifier(obj, "objectIdentifier", name)
    ch = _sub(obj, "objectCharacteristics")
    _sub(ch, "compositionLevel", "0")
    if md5:
        fx = _sub(ch, "fixity")
        _sub(
            fx,
            "messageDigestAlgorithm",
            "MD5",
            authority="cryptographicHashFunctions",
            authorityURI=_VOCAB + "cryptographicHashFunctions",
        )
        _sub(fx, "messageDigest", md5)
        _sub(fx, "messageDigestOriginator", originator)
    _sub(ch, "size", int(size_bytes))
    return obj, ch


def _object_element(record: TakeRecord) -> etree._Element:
    name = Path(record.master).name
    obj, ch = _file_object(name, record.md5, record.software, record.size_bytes)
    fmt = _sub(ch, "format")
    fname, fversion, fnote = _format_name(record)
    des = _sub(fmt, "formatDesignation")
    _sub(des, "formatName", fname)
    if fversion:
        _sub(des, "formatVersion", fversion)
    _sub(fmt, "formatNote", fnote)
    app = _sub(ch, "creatingApplication")
    soft = software_agent(record.software)
    _sub(app, "creatingApplicationName", soft.name)
    if soft.version:
        _sub(app, "creatingApplicationVersion", soft.version)
    _sub(app, "dateCreatedByApplication", utc_iso(record.started_utc))
    _sub(obj, "originalName", name)
    rel = _sub(obj, "relationship")
    _sub(rel, "relationshipType", "derivation", authority="relationshipType")
    _sub(rel, "relationshipSubType", "has source", authority="relationshipSubType")
    _identifier(rel, "relatedObjectIdentifier", record.item)
    return obj


def _event_element(event: PremisEvent, object_id: str) -> etree._Element:
    if event.type not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        raise HeadblockError(f"PREMIS event type {event.type!r} is not one of: {known}")
    ev = etree.Element(_P + "event")
    _identifier(ev, "eventIdentifier", event.identifier)
    _sub(
        ev,
        "eventType",
        event.type,
        authority="eventType",
        authorityURI=_VOCAB + "eventType",
        valueURI=_VOCAB + "eventType/" + EVENT_TYPES[event.type],
    )
    if event.datetime is None:
        event.datetime = datetime.now(UTC).replace(microsecond=0)
    _sub(ev, "eventDateTime", utc_iso(event.datetime))
    if event.detail:
        _sub(_sub(ev, "eventDetailInformation"), "eventDetail", event.detail)
    if event.outcome or event.outcome_detail:
        info = _sub(ev, "eventOutcomeInformation")
        _sub(info, "eventOutcome", event.outcome or "unknown")
        if event.outcome_detail:
            _sub(_sub(info, "eventOutcomeDetail"), "eventOutcomeDetailNote", event.outcome_detail)
    for agent_id, role in event.agent_roles:
        link = _sub(ev, "linkingAgentIdentifier")
        _sub(link, "linkingAgentIdentifierType", "local")
        _sub(link, "linkingAgentIdentifierValue", agent_id)
        if role:
            _sub(
                link,
                "linkingAgentRole",
                role,
                authority="eventRelatedAgentRole",
                authorityURI=_VOCAB + "eventRelatedAgentRole",
            )
    for linked_id, role in event.linked_objects or [(object_id, "")]:
        link = _sub(ev, "linkingObjectIdentifier")
        _sub(link, "linkingObjectIdentifierType", "local")
        _sub(link, "linkingObjectIdentifierValue", linked_id)
        if role:
            _sub(
                link,
                "linkingObjectRole",
                role,
                authority="eventRelatedObjectRole",
                authorityURI=_VOCAB + "eventRelatedObjectRole",
            )
    return ev


def _derivative_object(record: DerivativeRecord, event_id: str) -> etree._Element:
    """The access copy as a ``file`` object: its fixity, size, format, and its master."""
    name = Path(record.path).name
    obj, ch = _file_object(name, record.md5, record.software, record.size_bytes)
    fmt = _sub(ch, "format")
    _sub(_sub(fmt, "formatDesignation"), "formatName", record.container)
    _sub(fmt, "formatNote", record.process)
    app = _sub(ch, "creatingApplication")
    soft = software_agent(record.software)
    _sub(app, "creatingApplicationName", soft.name)
    if soft.version:
        _sub(app, "creatingApplicationVersion", soft.version)
    _sub(app, "dateCreatedByApplication", utc_iso(record.created_utc))
    _sub(obj, "originalName", name)
    rel = _sub(obj, "relationship")
    _sub(rel, "relationshipType", "derivation", authority="relationshipType")
    _sub(rel, "relationshipSubType", "has source", authority="relationshipSubType")
    _identifier(rel, "relatedObjectIdentifier", Path(record.master).name)
    _identifier(rel, "relatedEventIdentifier", event_id)
    return obj


def _agent_element(agent: PremisAgent) -> etree._Element:
    if agent.type not in AGENT_TYPES:
        raise HeadblockError(f"PREMIS agent type {agent.type!r} is not one of {AGENT_TYPES}")
    ag = etree.Element(_P + "agent")
    _identifier(ag, "agentIdentifier", agent.identifier)
    _sub(ag, "agentName", agent.name)
    _sub(ag, "agentType", agent.type, authority="agentType", authorityURI=_VOCAB + "agentType")
    if agent.version:
        _sub(ag, "agentVersion", agent.version)
    if agent.note:
        _sub(ag, "agentNote", agent.note)
    return ag


def _event_id(stem: str, number: int) -> str:
    return f"{stem}-event-{number:03d}"


# (key, events written so far by type code) while ``keyed_events`` is active
_KEYED: ContextVar[tuple[str, dict[str, int]] | None] = ContextVar("premis_keyed", default=None)


@contextmanager
def keyed_events(key: str) -> Iterator[None]:
    """Within the block, an event written without an identifier is named ``KEY-CODE-N`` (the
    Nth event of that type, by its id.loc.gov code, written in the block). Work done again
    under the same key (a batch task Dask ran a second time because its worker died after
    writing) writes the same identifiers, and ``add_event`` / ``add_derivative`` leave out an
    event whose identifier the document already holds. Carried across a process boundary by
    passing ``current_event_key()`` and entering the block there."""
    token = _KEYED.set((key, {}))
    try:
        yield
    finally:
        _KEYED.reset(token)


def current_event_key() -> str | None:
    state = _KEYED.get()
    return state[0] if state else None


def _keyed_identifier(event: PremisEvent) -> None:
    """Give ``event`` its keyed identifier when a ``keyed_events`` block is active."""
    state = _KEYED.get()
    if state is None or event.identifier:
        return
    key, counts = state
    code = EVENT_TYPES.get(event.type) or "".join(c for c in event.type if c.isalnum())[:12]
    counts[code] = counts.get(code, 0) + 1
    event.identifier = f"{key}-{code}-{counts[code]}"


def _event_ids(root) -> set[str]:
    return {
        e.findtext(f"{_P}eventIdentifier/{_P}eventIdentifierValue")
        for e in root.findall(_P + "event")
    }


def build_premis(
    record: TakeRecord,
    events: list[PremisEvent] | None = None,
    agents: list[PremisAgent] | None = None,
) -> etree._ElementTree:
    events = default_events(record) if events is None else events
    root = etree.Element(_P + "premis", nsmap={None: PREMIS_NS, "xsi": XSI_NS})
    root.set("version", "3.0")
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    root.append(_object_element(record))
    object_id = Path(record.master).name
    for n, event in enumerate(events, 1):
        if not event.identifier:
            event.identifier = _event_id(record.identifier, n)
        root.append(_event_element(event, object_id))
    known: dict[str, PremisAgent] = {}
    for agent in [*record_agents(record), *(agents or [])]:
        known.setdefault(agent.identifier, agent)
    for agent_id in sorted({aid for e in events for aid, _ in e.agent_roles} - set(known)):
        known[agent_id] = _agent_from_identifier(agent_id)
    for agent in known.values():
        root.append(_agent_element(agent))
    return etree.ElementTree(root)


def _write_valid(tree: etree._ElementTree, path: Path) -> Path:
    return write_validated(tree, path, "premis")


def write_premis(
    record: TakeRecord,
    events: list[PremisEvent] | None,
    path: str | os.PathLike,
    agents: list[PremisAgent] | None = None,
) -> Path:
    """Write the take's PREMIS document (events default to capture + message digest)."""
    path = Path(path)
    with _locked(path):
        return _write_valid(build_premis(record, events, agents), path)


@contextmanager
def _locked(path: Path):
    """Serialise writers across processes (QC, review and sign-off append events).

    The lock is on the folder: the document itself is replaced on every write, and a lock
    file would clutter the take folder.
    """
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError as exc:
        raise HeadblockError(f"cannot open the folder of {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _parse(path: Path) -> etree._ElementTree:
    if not path.is_file():
        raise HeadblockError(f"{path} does not exist")
    parser = etree.XMLParser(remove_blank_text=True, no_network=True, resolve_entities=False)
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        raise HeadblockError(f"{path} is not well-formed XML: {exc}") from exc
    return validate(tree, "premis")


def _next_event_id(root, object_id: str | None) -> str:
    stem = object_id.rsplit(".", 1)[0] if object_id else "object"
    existing = root.findall(_P + "event")
    used = {e.findtext(f"{_P}eventIdentifier/{_P}eventIdentifierValue") for e in existing}
    n = len(existing) + 1
    while _event_id(stem, n) in used:
        n += 1
    return _event_id(stem, n)


def _append_event(root, event: PremisEvent, agents: list[PremisAgent]) -> bool:
    """Insert ``event`` after the last event (or object), and its agents when new; False (and
    nothing changed) when the document already holds an event of its identifier."""
    if event.identifier and event.identifier in _event_ids(root):
        return False
    objects = root.findall(_P + "object")
    object_id = objects[0].findtext(f"{_P}objectIdentifier/{_P}objectIdentifierValue")
    existing_events = root.findall(_P + "event")
    existing_agents = {
        a.findtext(f"{_P}agentIdentifier/{_P}agentIdentifierValue")
        for a in root.findall(_P + "agent")
    }
    if not agents and not event.agent_roles:  # the program doing the writing ran it
        agents = [software_agent(software_string())]
    linked = {aid for aid, _ in event.agent_roles}
    for a in agents:
        if a.identifier not in linked:
            event.agent_roles.append((a.identifier, _default_role(a)))
    for agent_id in sorted(linked - existing_agents - {a.identifier for a in agents}):
        agents.append(_agent_from_identifier(agent_id))
    if not event.identifier:
        event.identifier = _next_event_id(root, object_id)
    new_event = _event_element(event, object_id)
    anchor = existing_events[-1] if existing_events else objects[-1]
    anchor.addnext(new_event)
    last = root.findall(_P + "agent")
    insert_after = last[-1] if last else new_event
    for a in agents:
        if a.identifier in existing_agents:
            continue
        el = _agent_element(a)
        insert_after.addnext(el)
        insert_after = el
        existing_agents.add(a.identifier)
    return True


def add_event(
    path: str | os.PathLike,
    event: PremisEvent,
    agent: PremisAgent | list[PremisAgent] | None = None,
) -> PremisEvent:
    """Append ``event`` (and its agent(s) when new) to a PREMIS document; re-validates.

    An agent given here but not named in ``event.agent_roles`` is linked with its usual role.
    Returns the event with its assigned identifier. An event whose identifier the document
    already holds is not added (nor the file rewritten): see ``keyed_events``.
    """
    path = Path(path)
    agents = [agent] if isinstance(agent, PremisAgent) else list(agent or [])
    _keyed_identifier(event)
    with _locked(path):
        tree = _parse(path)
        if _append_event(tree.getroot(), event, agents):
            _write_valid(tree, path)
    return event


def set_fixity(
    path: str | os.PathLike, md5: str, size_bytes: int | None = None, originator: str = ""
) -> None:
    """Set the master object's fixity (its MD5, known once the closed file is read back
    after the take) and size in place; re-validates. The object keeps everything else."""
    path = Path(path)
    with _locked(path):
        tree = _parse(path)
        obj = tree.getroot().find(_P + "object")
        ch = obj.find(_P + "objectCharacteristics")
        _, fresh_ch = _file_object("x", md5, originator or software_string(), size_bytes or 0)
        for old in ch.findall(_P + "fixity"):
            ch.remove(old)
        new_fixity = fresh_ch.find(_P + "fixity")
        if new_fixity is not None:
            ch.find(_P + "compositionLevel").addnext(new_fixity)
        if size_bytes is not None:
            ch.find(_P + "size").text = str(int(size_bytes))
        _write_valid(tree, path)


def read_fixity(path: str | os.PathLike) -> str:
    """The master object's recorded MD5 ("" when none is recorded yet)."""
    obj = _parse(Path(path)).getroot().find(_P + "object")
    return obj.findtext(f"{_P}objectCharacteristics/{_P}fixity/{_P}messageDigest") or ""


def add_derivative(path: str | os.PathLike, record: DerivativeRecord) -> PremisEvent:
    """Record an access copy in its take's PREMIS document: the copy as an object (replacing
    the object of an earlier copy of the same name, whose file it replaced) and its
    ``creation`` event linking master and copy. Re-validates; returns the event."""
    path = Path(path)
    event = derivation_event(record)
    name = Path(record.path).name
    _keyed_identifier(event)
    with _locked(path):
        tree = _parse(path)
        root = tree.getroot()
        objects = root.findall(_P + "object")
        master_id = objects[0].findtext(f"{_P}objectIdentifier/{_P}objectIdentifierValue")
        # keyed and already there: the copy's object is brought up to date, its event kept once
        event.identifier = event.identifier or _next_event_id(root, master_id)
        new_object = _derivative_object(record, event.identifier)
        earlier = [
            o
            for o in objects[1:]
            if o.findtext(f"{_P}objectIdentifier/{_P}objectIdentifierValue") == name
        ]
        if earlier:
            earlier[0].addprevious(new_object)
            for o in earlier:
                root.remove(o)
        else:
            objects[-1].addnext(new_object)
        _append_event(root, event, [])
        _write_valid(tree, path)
    return event


def read_events(path: str | os.PathLike) -> list[PremisEvent]:
    """The events of a PREMIS document, in document order."""
    root = _parse(Path(path)).getroot()
    out = []
    for ev in root.findall(_P + "event"):
        when = ev.findtext(_P + "eventDateTime") or ""
        dt = parse_utc(when) or datetime.min.replace(tzinfo=UTC)
        roles = [
            (
                link.findtext(_P + "linkingAgentIdentifierValue") or "",
                link.findtext(_P + "linkingAgentRole") or "",
            )
            for link in ev.findall(_P + "linkingAgentIdentifier")
        ]
        objects = [
            (
                link.findtext(_P + "linkingObjectIdentifierValue") or "",
                link.findtext(_P + "linkingObjectRole") or "",
            )
            for link in ev.findall(_P + "linkingObjectIdentifier")
        ]
        out.append(
            PremisEvent(
                type=ev.findtext(_P + "eventType") or "",
                datetime=dt,
                detail=ev.findtext(f"{_P}eventDetailInformation/{_P}eventDetail") or "",
                outcome=ev.findtext(f"{_P}eventOutcomeInformation/{_P}eventOutcome") or "",
                outcome_detail=ev.findtext(
                    f"{_P}eventOutcomeInformation/{_P}eventOutcomeDetail/{_P}eventOutcomeDetailNote"
                )
                or "",
                agent_roles=roles,
                identifier=ev.findtext(f"{_P}eventIdentifier/{_P}eventIdentifierValue") or "",
                linked_objects=objects if any(role for _, role in objects) else [],
            )
        )
    return out


def read_agents(path: str | os.PathLike) -> list[PremisAgent]:
    root = _parse(Path(path)).getroot()
    return [
        PremisAgent(
            identifier=a.findtext(f"{_P}agentIdentifier/{_P}agentIdentifierValue") or "",
            name=a.findtext(_P + "agentName") or "",
            type=a.findtext(_P + "agentType") or "",
            version=a.findtext(_P + "agentVersion") or "",
            note=a.findtext(_P + "agentNote") or "",
        )
        for a in root.findall(_P + "agent")
    ]
