"""Packages a repository can ingest: BagIt bags and Archivematica transfers of approved takes.

``selection`` picks the takes (approved ones unless a reason is given), ``copying`` copies or
hard-links a file while hashing it in the same read, ``bagit_writer`` and ``archivematica`` lay
out one package each, ``packager`` checks room, writes beside the target and renames it at the
end, and ``records`` writes what the take folder keeps of a delivery (sidecar, PREMIS,
catalogue). Nothing here prints: ``headblock.verbs.packaging`` does.
"""
