"""Batch work on a Dask cluster: the same verbs as at the bench (QC, verify), mapped over many
files on a local cluster or a lab's.

A batch verb is one registration (``registry.register``): what it finds under the PATHs, why a
file is already done, and a function from one file to one ``Outcome`` that runs on a worker.
``engine.run_batch`` maps it over the files, keeps a journal of finished results so an
interrupted batch resumes, and brings the catalogue in line from the client, once per file.
"""
