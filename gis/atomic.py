"""Atomic file output: write to a temporary file beside the target, then rename; and staged
sets (:class:`StagedOutputs`): all outputs of one run swapped in together.

A run killed midway leaves either the old file or the new one, never half of one. Its
temporary file (a hidden ``.<stem>.<pid>.<random>.part<suffix>`` beside the target) cannot be
removed by a killed process; the next atomic write of the same target removes such leftovers
whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from phusong.gis.errors import OutputError, OutputExistsError

__all__ = ["STAGE_PREFIX", "StagedOutputs", "atomic_path", "atomic_write_bytes",
           "atomic_write_text", "check_writable", "recover_stages", "staged_outputs"]


def check_writable(path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Return ``path`` as a Path, refusing an existing file unless ``overwrite``."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p}: exists; pass --overwrite to replace it")
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


# -- one run = one set of outputs -------------------------------------------------------------

STAGE_PREFIX = ".phusong-stage."
_MANIFEST = "MANIFEST.json"


def _stage_pid(name: str) -> int | None:
    m = re.match(rf"{re.escape(STAGE_PREFIX)}(\d+)\.", name)
    return int(m.group(1)) if m else None


def _apply_manifest(stage: Path, target: Path, manifest: dict) -> None:
    """Move the staged files onto ``target`` and remove the files the run replaced.

    Each replaced or removed file is first moved into ``stage/.old``; when a move fails (a
    locked or read-only target) everything moved so far is put back and an
    :class:`~gis.errors.OutputError` naming the path is raised: the target keeps its previous
    set.
    """
    old_dir = stage / ".old"
    # (new file placed in target or None, (backup, original place) or None)
    done: list[tuple[Path | None, tuple[Path, Path] | None]] = []

    def backup(dst: Path, rel: str) -> tuple[Path, Path]:
        bak = old_dir / rel
        bak.parent.mkdir(parents=True, exist_ok=True)
        os.replace(dst, bak)
        return bak, dst

    try:
        for rel in manifest.get("remove", []):
            dst = target / rel
            if dst.exists():
                done.append((None, backup(dst, rel)))
        for rel in manifest.get("files", []):
            src = stage / rel
            if not src.exists():  # already moved by an earlier, interrupted commit
                continue
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            bak = backup(dst, rel) if dst.exists() else None
            try:
                os.replace(src, dst)
            except BaseException:
                if bak is not None:
                    os.replace(*bak)
                raise
            done.append((dst, bak))
    except BaseException as exc:
        for placed, bak in reversed(done):  # put the previous set back
            with contextlib.suppress(OSError):
                if placed is not None:
                    os.replace(placed, stage / placed.relative_to(target))
                if bak is not None:
                    os.replace(*bak)
        if not isinstance(exc, OSError):
            raise
        path = exc.filename or target
        raise OutputError(f"{path}: cannot be replaced ({exc.strerror or exc}); is it open in "
                          "another program or read-only? The previous outputs are kept"
                          ) from None


def recover_stages(target: str | os.PathLike) -> list[Path]:
    """Finish or discard the staging folders of runs whose process is gone.

    A staging folder with a manifest was complete when its run stopped in the middle of the
    swap: its remaining files are moved in (the run's set is completed). One without a
    manifest was still being written: it is removed, leaving the previous set. Returns the
    folders handled.
    """
    import json
    import shutil

    import psutil

    folder = Path(target)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    done: list[Path] = []
    for name in sorted(names):
        pid = _stage_pid(name)
        if pid is None or pid == os.getpid() or psutil.pid_exists(pid):
            continue
        stage = folder / name
        manifest = stage / _MANIFEST
        if manifest.exists():
            with contextlib.suppress(OSError, ValueError):
                _apply_manifest(stage, folder, json.loads(manifest.read_text("utf-8")))
        shutil.rmtree(stage, ignore_errors=True)
        done.append(stage)
    return done


#: set by :func:`_note_interrupt` (a Ctrl-C since the last staged set was opened)
_INTERRUPTED = [False]
_PREVIOUS_SIGINT: list = [None]


def _note_interrupt(signum: int, frame: Any) -> Any:
    """The SIGINT handler while a staged set is open: note it, then do what the handler
    before did (raise KeyboardInterrupt)."""
    _INTERRUPTED[0] = True
    previous = _PREVIOUS_SIGINT[0]
    if callable(previous):
        return previous(signum, frame)
    raise KeyboardInterrupt


def _watch_interrupts() -> None:
    """Note every Ctrl-C from now on (main thread; a handler the program set is wrapped, an
    ignored or default SIGINT left alone) and forget earlier ones.

    Libraries swallow a KeyboardInterrupt raised at the wrong moment: numpy clears any error
    pending while it tries to read an object as an array or a string as a dtype, and pandas
    runs Python code in both. A Ctrl-C landing there used to be lost, and the run completed;
    noted, it stops the commit (:meth:`StagedOutputs.commit`).
    """
    _INTERRUPTED[0] = False
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGINT)
    if current is _note_interrupt or not callable(current):
        return
    _PREVIOUS_SIGINT[0] = current
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, _note_interrupt)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM received inside the block take effect when it ends.

    Python runs signal handlers in the main thread whichever thread the signal reached (the
    numeric kernels keep worker threads), so the handlers are swapped for ones that note the
    signal, and the noted signals are raised again, to the previous handlers, on the way out.
    Outside the main thread (no handlers can be set there) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, lambda signum, _frame: noted.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(noted):
            signal.raise_signal(sig)


class StagedOutputs:
    """A run's outputs, written into a hidden staging folder and swapped in together.

    Writers write under :attr:`path` (a fresh ``.phusong-stage.<pid>.<random>`` folder inside
    the target folder, so on the same file system); :meth:`commit` then moves every file onto
    its place in the target and removes the files of the run's earlier set that this run did
    not make again (those matching ``patterns``). Until the commit the target folder is
    untouched: a run that fails, is interrupted (Ctrl-C) or is killed leaves the previous
    complete set. The swap itself is a series of renames with Ctrl-C/SIGTERM deferred to its end
    (:func:`interrupts_deferred`);
    a ``MANIFEST.json`` written before it lets :func:`recover_stages` finish a swap cut by
    ``kill -9`` at the next run. Staging folders of dead runs are cleaned at the next start.

    Parameters
    ----------
    target
        The output folder.
    patterns
        Glob patterns (relative to ``target``, e.g. ``"gaps_*.csv"``, ``"rejects/*.csv"``)
        of the files this kind of run makes: existing ones are this run's earlier set.
    """

    def __init__(self, target: str | os.PathLike, *, patterns: tuple[str, ...] = ()) -> None:
        self.target = Path(target)
        self.patterns = tuple(patterns)
        self.path: Path | None = None
        self.created_target = False
        self.committed: list[Path] = []

    def existing(self) -> list[Path]:
        """Files of the target folder matching :attr:`patterns` (the earlier set)."""
        if not self.target.is_dir():
            return []
        found: set[Path] = set()
        for pat in self.patterns:
            found.update(p for p in self.target.glob(pat)
                         if p.is_file() and not any(part.startswith(".") for part in
                                                    p.relative_to(self.target).parts))
        return sorted(found)

    def open(self) -> Path:
        """Create the staging folder (and the target folder) and return the staging path."""
        if not self.target.exists():
            self.target.mkdir(parents=True)
            self.created_target = True
        recover_stages(self.target)
        _watch_interrupts()
        self.path = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}.",
                                          dir=self.target))
        return self.path

    def staged_files(self) -> list[str]:
        assert self.path is not None
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*")
                      if p.is_file() and p.name != _MANIFEST
                      and not p.name.startswith("."))

    def commit(self) -> list[Path]:
        """Swap the staged files in; return their final paths.

        A failure in here leaves the previous set and drops this run's files. Ctrl-C/SIGTERM
        wait from before the manifest is written to the end of the swap, and then act: the
        new set is whole. A Ctrl-C since :meth:`open` that never stopped the run (a library
        swallowed its KeyboardInterrupt) raises KeyboardInterrupt here, before anything
        moves; that and an interrupt raised on the way in are the caller's to abort (its
        ``try`` around the call).
        """
        import json
        import shutil

        assert self.path is not None, "StagedOutputs.open() was not called"
        if _INTERRUPTED[0]:  # a Ctrl-C that a library swallowed: the run stops here
            raise KeyboardInterrupt
        with interrupts_deferred():
            try:
                files = self.staged_files()
                new = set(files)
                remove = [str(p.relative_to(self.target)) for p in self.existing()
                          if str(p.relative_to(self.target)) not in new]
                manifest = {"files": files, "remove": remove}
                text = json.dumps(manifest, ensure_ascii=False)
                with open(self.path / _MANIFEST, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                _apply_manifest(self.path, self.target, manifest)
                shutil.rmtree(self.path, ignore_errors=True)
            except BaseException:  # the previous set is (back) in place: drop this run's
                self.abort()
                raise
        self.committed = [self.target / f for f in files]
        self.path = None
        return self.committed

    def abort(self) -> None:
        """Remove the staging folder (and the target folder when this run created it empty)."""
        import shutil

        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        if self.created_target:
            with contextlib.suppress(OSError):
                self.target.rmdir()  # only when empty

    def final(self, staged: str | os.PathLike) -> Path:
        """Where a path under the staging folder lands after the commit."""
        p = Path(staged)
        base = self.path
        if base is not None:
            with contextlib.suppress(ValueError):
                return self.target / p.relative_to(base)
        return p


@contextlib.contextmanager
def staged_outputs(target: str | os.PathLike, *, patterns: tuple[str, ...] = (),
                   ) -> Iterator[StagedOutputs]:
    """Context manager around :class:`StagedOutputs`: commit on success, abort otherwise."""
    stage = StagedOutputs(target, patterns=patterns)
    stage.open()
    try:
        yield stage
        stage.commit()
    except BaseException:  # also an interrupt raised on the way into the commit
        stage.abort()
        raise
