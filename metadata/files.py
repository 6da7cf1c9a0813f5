"""Writing a sidecar so that a reader never sees half of it: a temporary file beside the target,
flushed, given the usual file mode, then renamed over it in one step."""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends.

    For writers that want a file name (numpy, lxml, reportlab). ``suffix`` keeps an extension
    a writer insists on (``np.savez`` adds ``.npz`` otherwise). On error nothing is replaced and
    the temporary file is removed.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())  # a power cut leaves the old file or the new, never half
        os.chmod(tmp, 0o644)  # mkstemp makes it private; sidecars are readable like the master
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text or bytes) to ``path`` in one step; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
    return path


def read_toml(path: Path, what: str) -> dict:
    """A TOML file's table; ``what`` names it in the one line said when it cannot be read."""
    from metadata.errors import HeadblockError

    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise HeadblockError(f"{what} {path}: not valid TOML ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise HeadblockError(f"{what} {path}: cannot read it ({exc})") from exc
