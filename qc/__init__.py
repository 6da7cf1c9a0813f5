"""Headless quality control. ``table`` is the one list of checks (each row names its
detector); ``audio/`` and ``video_checks`` (over ``video_stats``) hold the detectors,
``conformance`` the preservation target, ``runner`` runs a master through them into a
``result``; ``sidecars`` reads back what QC wrote beside the master, ``report/`` renders it."""
