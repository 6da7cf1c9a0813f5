"""Preservation formats: BWF/RF64 chunks, PBCore, PREMIS, MD5 sidecars, framemd5, XML validation,
pixel formats. Each module reads and writes one format; none knows about takes or workflow."""
