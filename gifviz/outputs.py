"""Writing result files safely: checked before any work, written atomically.

Two promises to a user who runs a long computation with ``--out``:

- a bad output path (an input of the run, a folder, a path under a regular file, an unwritable folder) is refused
  before anything is computed, in one line;
- a write that fails (full disk, lost permission) leaves no partial file and keeps the previous content of the
  target: every file is written to a temporary file in the same folder, flushed to disk, then renamed over the target.

A leaf module (it imports only :mod:`gifviz.errors`), so every layer and the command line's parser may use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from gifviz.errors import GifvizError

Writer = Callable[[BinaryIO], object]
Content = bytes | str | Writer


class OutputError(GifvizError):
    """An output file cannot be written where the user asked, or would replace one of the run's inputs."""


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:  # b (or a) does not exist: only the resolved paths can tell
        return False


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest existing ancestor."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_output_folder(folder: str | Path, option: str = "--out") -> Path:
    """Check that ``folder`` is, or can be created as, a folder gifviz can write files into; nothing is created.

    Raises :class:`OutputError` when it is an existing regular file, sits under one, or cannot be written.
    """
    folder = Path(folder)
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        if existing == folder:
            raise OutputError(f"{option} {folder} is a file, not a folder; give a folder name")
        raise OutputError(f"{option} {folder}: {existing} is a file, so no folder can be made under it")
    try:  # a real probe: os.access says yes to root even on read-only mounts or /proc
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise OutputError(f"{option} {folder}: cannot write in {existing} ({_reason(error)})") from None
    return folder


def check_output_file(
    path: str | Path, inputs: Mapping[Path, str] | Iterable[str | Path] = (), option: str = "--out"
) -> Path:
    """Check, before any work, that ``path`` can be written and is none of ``inputs``.

    ``inputs`` are the files the run reads (manifest, model files, reference images), optionally mapped to what each
    is ("the zoo manifest"); ``path`` must not be one of them after resolving symbolic links and ``..``. Returns
    ``path``; raises :class:`OutputError` with one line otherwise.
    """
    path = Path(path)
    described = inputs.items() if isinstance(inputs, Mapping) else ((item, "an input") for item in inputs)
    for item, what in described:
        if _same_file(path, Path(item)):
            shown = "" if str(item) == str(path) else f" ({item})"
            raise OutputError(f"{option} {path} would replace {what}{shown}; choose another output file")
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give the name of a file to write")
    check_output_folder(path.parent, option)
    return path


def write_files(contents: Mapping[str | Path, Content]) -> list[Path]:
    """Write several files all-or-nothing as far as a file system allows; returns their paths.

    Each content is ``bytes``, ``str`` (written as UTF-8) or a ``writer(handle)`` that writes the bytes to a binary
    handle (``np.savez``). Each goes to a temporary file beside its target; only when all of them are written and
    flushed to disk are they renamed over their targets, so a failure leaves every target as it was (a CSV is never
    left beside the provenance of another run). Raises :class:`OutputError` on an ``OSError``.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for target, content in contents.items():
            target = Path(target)
            staged.append((target, _stage(target, _writer(content))))
        for target, temporary in staged:
            try:
                os.replace(temporary, target)
            except OSError as error:
                raise OutputError(f"cannot write {target}: {_reason(error)}") from None
    finally:
        for _, temporary in staged:
            with contextlib.suppress(FileNotFoundError):  # already renamed into place
                os.unlink(temporary)
    for folder in {target.parent for target, _ in staged}:
        _sync_folder(folder)
    return [target for target, _ in staged]


def _writer(content: Content) -> Writer:
    if isinstance(content, str):
        content = content.encode("utf-8")
    if isinstance(content, bytes):
        return lambda handle: handle.write(content)
    return content


def _create_temporary(target: Path) -> tuple[int, Path]:
    """A new, empty, hidden file beside ``target``, opened for writing. Created with mode ``0o666`` so the kernel
    applies the umask, as for any file a user writes (``mkstemp`` would give ``0o600``, and changing the umask to
    read it is not thread-safe)."""
    for _ in range(100):
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {target}")


def _stage(target: Path, write: Writer) -> Path:
    """Write one temporary file beside ``target`` and flush it to disk; returns its path."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = _create_temporary(target)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {_reason(error)}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():  # replacing a file keeps its permissions
            os.chmod(temporary, target.stat().st_mode & 0o7777)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise OutputError(f"cannot write {target}: {_reason(error)}") from None
        raise
    return temporary


def _sync_folder(folder: Path) -> None:
    """Make the renames durable; best effort (some file systems cannot open a folder)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_file(path: str | Path, content: Content) -> Path:
    """Write one file atomically; ``content`` as in :func:`write_files`."""
    return write_files({path: content})[0]
