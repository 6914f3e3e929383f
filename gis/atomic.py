"""Atomic file output: write to a temporary file beside the target, then rename.

A run killed midway leaves either the old file or the new one, never half of one. Its
temporary file (a hidden ``.<stem>.<pid>.<random>.part<suffix>`` beside the target) cannot be
removed by a killed process; the next atomic write of the same target removes such leftovers
whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from phusong.gis.errors import OutputExistsError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_writable"]


def check_writable(path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Return ``path`` as a Path, refusing an existing file unless ``overwrite``."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p}: exists; pass --overwrite (overwrite=True) to replace it")
    return p


def _remove_stale_temps(target: Path) -> None:
    """Remove temporary files of ``target`` left by killed runs (their process is gone).

    Only names of the form ``.<stem>.<pid>.<random>.part<suffix>`` (and a driver's sidecars of
    them) whose ``pid`` is not a running process are removed; the pid is looked up with psutil
    (``os.kill(pid, 0)`` would terminate the process on Windows).
    """
    import psutil

    pattern = re.compile(rf"\.{re.escape(target.stem)}\.(\d+)\.[a-z0-9_]+\.part"
                         rf"{re.escape(target.suffix)}")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and not psutil.pid_exists(pid):
            with contextlib.suppress(OSError):
                os.unlink(target.parent / name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    The temporary name keeps the target's suffix so that format drivers (GDAL, openpyxl)
    recognise it. On error the temporary file is removed and the target is untouched.
    """
    target = check_writable(path, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.{os.getpid()}.",
                               suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # drivers such as GDAL want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists():
            raise FileNotFoundError(f"{tmp_path}: the writer produced no file")
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True,
                      encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)
