"""Atomic file writes: a temporary file beside the target, fsynced, then renamed over it, so a reader (or a resumed
run after a crash) sees either the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _temporary_beside(path: Path) -> tuple[Path, int]:
    """A new empty temporary file next to `path` (its directory created) and an open descriptor of it, with the
    usual 0o666 & ~umask permissions (tempfile.mkstemp would make it 0o600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call `write` on a temporary binary file next to `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    tmp, fd = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_path_atomic(path: Path, write_file: Callable[[Path], object]) -> None:
    """For writers that take a file name (safetensors): `write_file(tmp)` on a temporary path beside `path`, then
    fsync it, give it the permissions `atomic_write` gives (such writers may pick their own, e.g. 0o600) and rename
    it over `path`."""
    path = Path(path)
    tmp, fd = _temporary_beside(path)
    mode = os.fstat(fd).st_mode & 0o777
    os.close(fd)
    try:
        write_file(tmp)
        os.chmod(tmp, mode)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes | str) -> None:
    """Bytes (or UTF-8 text), written atomically."""
    payload = data.encode() if isinstance(data, str) else data
    atomic_write(path, lambda f: f.write(payload))


def json_bytes(data: Any) -> bytes:
    """Strict JSON (no NaN or Infinity), compact, UTF-8."""
    return json.dumps(data, allow_nan=False, separators=(",", ":")).encode()


def write_json_atomic(path: Path, data: Any) -> None:
    """Strict JSON (no NaN or Infinity), written atomically."""
    write_bytes_atomic(path, json_bytes(data))
