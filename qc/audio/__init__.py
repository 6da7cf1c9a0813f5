"""Audio QC, streamed over chunks of a few seconds so memory stays flat in file length.

``reading`` opens the audio, ``accumulator`` keeps what one pass over it measures, the detector
modules (``impulses``, ``dropout``, ``levels``, ``hum``, ``loudness``, ``capture_log``) turn
that into the events of each check of ``qc.table``, and ``analysis`` runs them all:
``run_audio_checks`` is the runner's entry.
"""
