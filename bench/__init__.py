"""Benchmarks of the station (``python -m bench``), outside the test run."""

import os as _os

# As ``app`` does for the window: one BLAS thread. Discovering the benchmarks imports numpy
# before any of them runs, so this has to be said here, before that import.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
