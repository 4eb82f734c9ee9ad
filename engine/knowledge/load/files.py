"""Reading a file clonus is given (a KB file, a case file): a regular file only, and only a few MB of it.

A FIFO would block forever, /dev/zero never ends and a folder has no text: each is refused before a
byte is read. The file is opened first (symlinks resolved) and the open file is checked, so nothing
can be swapped in between a check and the read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 4 * 2**20  # the largest shipped KB file is about 30 KB, a case file under 1 KB
_CHUNK = 2**16


def read_bytes(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, at most `limit`; OSError (with a reason in strerror) otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file: a FIFO, a device or a socket", str(path))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise OSError(errno.EFBIG, f"larger than {_megabytes(limit)}", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_file(path: Path) -> bool:
    """Whether `path` names a regular file (symlinks resolved); False also when it cannot even be looked
    at (a name too long for the file system), where Path.is_file() raises."""
    try:
        return path.is_file()
    except OSError:
        return False


def read_text(path: Path | str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes (OSError or UnicodeDecodeError)."""
    return read_bytes(path, limit).decode("utf-8")


def decode(data: bytes, limit: int = MAX_FILE_BYTES) -> str:
    """Bytes read from a stream (standard input) as UTF-8 text, refused past `limit` like a file."""
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {_megabytes(limit)}")
    return data.decode("utf-8")


def _megabytes(limit: int) -> str:
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit} bytes"
