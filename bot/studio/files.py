"""The project's editable data files: which they are, and reading and writing them safely.

Only these paths (relative, posix, canonical) can be read or written:

* ``domain.yml``
* ``data/nlu/**/*.yml`` (language from the folder: ``data/nlu/zh/orders.yml`` is zh)
* ``data/stories/**/*.yml`` and ``data/rules/**/*.yml``
* ``tests/stories/*.yml`` (Rasa test stories)

Anything else, such as ``config.yml``, ``tests/nlu/zh.yml`` (the held-out test set),
``../x.yml`` or a symlink, raises ``PathNotAllowed``. Every read returns a version
(a hash of the content); a write names the version it started from and raises
``EditConflict`` when the file has changed since, so concurrent edits are detected
and never silently lost.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from bot.studio.errors import EditConflict, FileMissing, NotEditable, PathNotAllowed

Kind = Literal["nlu", "stories", "rules", "domain", "test_stories"]
Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DOMAIN = "domain.yml"
#: The folders that hold editable files, and whether sub-folders are allowed.
FOLDERS: tuple[tuple[str, Kind, bool], ...] = (
    ("data/nlu", "nlu", True),
    ("data/stories", "stories", True),
    ("data/rules", "rules", True),
    ("tests/stories", "test_stories", False),
)
#: Name of the lock file (a dotfile, so never listed nor mistaken for data).
LOCK_NAME = ".studio.lock"
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class EditableFile:
    """One editable file: its relative posix path, what it holds, and its language if the folder says."""

    path: str
    kind: Kind
    language: Language | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"path": self.path, "kind": self.kind, "language": self.language}


@dataclass(frozen=True)
class FileText:
    """A file's text as read, with the version a later write must name."""

    path: str
    text: str
    version: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "text": self.text, "version": self.version}


def version_of(text: str) -> str:
    """The version of a file's content: the first 16 hex digits of its UTF-8 SHA-256.

    Content-addressed rather than a timestamp, so a save of unchanged text keeps the
    version, and two machines agree on it.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def classify(path: str) -> EditableFile:
    """What the editable file at ``path`` is, or ``PathNotAllowed`` naming why it is not one.

    Pure: looks at the string only. Paths must be canonical (one spelling per file,
    so versions and locks agree): no ``.``/``..``/empty segments, no backslashes,
    no hidden segments, names of ASCII letters, digits, ``_``, ``-`` and ``.``.
    """
    if not path:
        raise PathNotAllowed(path, "empty")
    if "\\" in path:
        raise PathNotAllowed(path, "backslash")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise PathNotAllowed(path, "absolute")
    parts = path.split("/")
    if ".." in parts:
        raise PathNotAllowed(path, "parent")
    if any(part in ("", ".") for part in parts):
        raise PathNotAllowed(path, "not_canonical")
    if any(part.startswith(".") for part in parts):
        raise PathNotAllowed(path, "hidden")
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        raise PathNotAllowed(path, "bad_name")
    if not path.endswith(".yml"):
        raise PathNotAllowed(path, "not_yml")
    if path == DOMAIN:
        return EditableFile(path, "domain")
    for folder, kind, nested in FOLDERS:
        base = folder.split("/")
        inside = parts[: len(base)] == base and len(parts) > len(base)
        if inside and (nested or len(parts) == len(base) + 1):
            language = parts[2] if kind == "nlu" and len(parts) > 3 and parts[2] in LANGUAGES else None
            return EditableFile(path, kind, language)
    raise PathNotAllowed(path, "not_editable")


class FileSource(Protocol):
    """What the studio needs from a file store; ``ProjectFiles`` and ``MemoryFiles`` provide it."""

    def list(self) -> tuple[EditableFile, ...]: ...

    def read(self, path: str) -> FileText: ...

    def write(self, path: str, text: str, base_version: str | None) -> str: ...


class ProjectFiles:
    """The editable files of the Rasa project under ``root``, on disk.

    Writes are atomic (a temporary file in the same folder, then ``os.replace``)
    and serialised by ``fcntl.flock`` on a lock file, so that two processes (two
    web workers, or the web service and a script) cannot interleave a
    check-then-write. The lock file is ``.studio.lock`` in the written file's
    folder, or in ``lock_dir`` when given (every writer must agree on it).
    """

    def __init__(self, root: Path, lock_dir: Path | None = None) -> None:
        self.root = root
        self.lock_dir = lock_dir

    def list(self) -> tuple[EditableFile, ...]:
        """Every editable file that exists, sorted by path; symlinks and odd names are left out."""
        found: list[EditableFile] = []
        candidates = [DOMAIN]
        for folder, _kind, nested in FOLDERS:
            for dirpath, dirnames, filenames in os.walk(self.root / folder):
                if not nested:
                    dirnames.clear()
                relative = Path(dirpath).relative_to(self.root).as_posix()
                candidates += [f"{relative}/{name}" for name in filenames]
        for path in candidates:
            with suppress(PathNotAllowed):
                file = classify(path)
                if self._resolve(path).is_file():
                    found.append(file)
        return tuple(sorted(found, key=lambda file: file.path))

    def read(self, path: str) -> FileText:
        """The file's text and version; ``FileMissing`` if it does not exist."""
        classify(path)
        data = self._bytes(self._resolve(path))
        if data is None:
            raise FileMissing(path)
        text = _decode(path, data)
        return FileText(path, text, version_of(text))

    def write(self, path: str, text: str, base_version: str | None) -> str:
        """Replace the file's text, if it is still at ``base_version``, and return the new version.

        ``base_version=None`` creates a new file and requires that none exists. The
        folder must already exist: new files go into the existing data folders.

        Raises:
            PathNotAllowed: not an editable path, or its folder does not exist.
            EditConflict: the file is not at ``base_version`` (changed, created or deleted since).
        """
        classify(path)
        full = self._resolve(path)
        if not full.parent.is_dir():
            raise PathNotAllowed(path, "no_folder")
        with self._locked(full.parent):
            current = self._bytes(full)
            current_version = None if current is None else version_of(_decode(path, current))
            if current_version != base_version:
                raise EditConflict(path, current_version)
            _replace(full, text.encode("utf-8"))
        return version_of(text)

    def _resolve(self, path: str) -> Path:
        """The absolute path, refusing any symlink below the root (inside or out, it would alias a file)."""
        full = self.root / path
        if os.path.realpath(full) != os.path.join(os.path.realpath(self.root), *path.split("/")):
            raise PathNotAllowed(path, "symlink")
        return full

    @staticmethod
    def _bytes(full: Path) -> bytes | None:
        try:
            return full.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    @contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        if self.lock_dir is not None:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
        lock = os.open((self.lock_dir or folder) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)  # closing the descriptor releases the lock


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotEditable(path, "not_utf8") from error


def _replace(full: Path, data: bytes) -> None:
    """Write ``data`` to ``full`` atomically: readers see the old or the new file, never half of one."""
    mode = full.stat().st_mode & 0o777 if full.exists() else 0o644
    fd, temporary = tempfile.mkstemp(dir=full.parent, prefix=f".{full.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, full)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(full.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # make the rename itself durable
    finally:
        os.close(folder)


class MemoryFiles:
    """The in-memory twin of ``ProjectFiles``, for tests: same paths, versions and conflicts."""

    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self._texts = {classify(path).path: text for path, text in (texts or {}).items()}
        self._lock = threading.Lock()

    def list(self) -> tuple[EditableFile, ...]:
        return tuple(classify(path) for path in sorted(self._texts))

    def read(self, path: str) -> FileText:
        classify(path)
        if path not in self._texts:
            raise FileMissing(path)
        return FileText(path, self._texts[path], version_of(self._texts[path]))

    def write(self, path: str, text: str, base_version: str | None) -> str:
        classify(path)
        with self._lock:
            current = self._texts.get(path)
            current_version = None if current is None else version_of(current)
            if current_version != base_version:
                raise EditConflict(path, current_version)
            self._texts[path] = text
        return version_of(text)
