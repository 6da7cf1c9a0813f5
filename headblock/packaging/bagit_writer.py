"""BagIt 1.0 bags (RFC 8493) of one item, through the ``bagit`` library.

``data/ITEM_tNN/`` holds each take folder's files (the master, its ``.md5`` sidecar, the
framemd5, PBCore, PREMIS, QC result and report, sign-off record, access copies). The payload
manifests (SHA-256 and SHA-512) come from the digests taken while the files were copied, so a
master is read once to write it; ``bagit`` then writes ``bag-info.txt`` and the tag manifests
and validates the whole bag, reading every payload file again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import bagit

from headblock.packaging.layout import PACKAGE_RECORD, PackageInfo, PlannedFile
from headblock.packaging.selection import SelectedTake
from metadata.errors import HeadblockError
from metadata.review.verify import MasterCheck, verify_package

MANIFEST_ALGORITHMS = ("sha256", "sha512")
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
# bagit's Bag.save changes the working directory of the process while it writes
_CWD_LOCK = threading.Lock()


class BagitLayout:
    name = "bagit"

    def algorithms(self, planned: PlannedFile) -> tuple[str, ...]:
        return MANIFEST_ALGORITHMS

    def place(self, take: SelectedTake, file: Path) -> str:
        return f"data/{take.identifier}/{file.name}"

    def finish(self, root: Path, info: PackageInfo) -> None:
        (root / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
        total_bytes = 0
        for alg in MANIFEST_ALGORITHMS:
            lines = []
            for f in sorted(info.files, key=lambda f: f.rel):
                assert f.copied is not None
                lines.append(f"{f.copied.digests[alg]}  {bagit._encode_filename(f.rel)}\n")
            (root / f"manifest-{alg}.txt").write_text("".join(lines), encoding="utf-8")
        total_bytes = sum(f.copied.size_bytes for f in info.files if f.copied)
        (root / PACKAGE_RECORD).write_text(info.record(), encoding="utf-8")
        sel = info.selection
        bag_info = {
            "Source-Organization": info.organization,
            "External-Identifier": sel.item,
            "Bagging-Date": info.when.strftime("%Y-%m-%d"),
            "Payload-Oxum": f"{total_bytes}.{len(info.files)}",
            "Bag-Software-Agent": f"{info.software} (bagit.py {bagit.VERSION})",
            "Internal-Sender-Identifier": [t.identifier for t in sel.takes],
            "Internal-Sender-Description": f"Preservation masters of {sel.item} with their "
            "fixity, QC and sign-off records",
        }
        if sel.unapproved:
            bag_info["Headblock-Unapproved-Takes"] = [t.identifier for t in sel.unapproved]
            bag_info["Headblock-Unapproved-Reason"] = info.reason
        bag = bagit.Bag(str(root))
        bag.info = bag_info
        with _CWD_LOCK:
            cwd = os.getcwd()
            try:
                bag.save()  # bag-info.txt and the tag manifests, by the library
            except bagit.BagError as exc:
                raise HeadblockError(f"cannot write the bag {root.name}: {exc}") from exc
            finally:
                os.chdir(cwd)

    def validate(self, root: Path) -> MasterCheck:
        return verify_package(root)

    def takes_in(self, root: Path) -> set[str]:
        data = root / "data"
        return {p.name for p in data.iterdir() if p.is_dir()} if data.is_dir() else set()
