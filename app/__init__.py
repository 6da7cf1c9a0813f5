"""The station window: the only package that imports PySide6 or pyqtgraph."""

import os as _os

# One BLAS thread: the meters' small dot products run 30x slower when OpenBLAS wakes a pool
# of threads that fight the capture threads for two cores. (Effective when app is imported
# before numpy, as ``headblock gui`` does.)
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from app import qtfix as _qtfix  # noqa: E402  (PySide6 emit() reference bug, see qtfix)

_qtfix.apply()
