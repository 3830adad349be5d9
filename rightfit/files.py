"""Files every part writes and reads: atomic writes, YAML and JSONL with line numbers, one file
lock, and publishing a finished folder by rename.

Nothing here is ever half-written where another process (or a later run) can see it: a file is
written to a temporary name in its folder and renamed; a folder is built under a temporary name
and renamed into place.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterator

import yaml

from rightfit.errors import UserError


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- writing

# errno -> what to do about it
_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full; free space (or point runs_dir/cache_dir elsewhere) and run again",
    errno.EDQUOT: "the disk quota is used up; free space (or point runs_dir/cache_dir elsewhere) and run again",
    errno.EROFS: "the file system is read-only; pick a writable path",
    errno.EACCES: "permission denied; pick a path you can write to",
    errno.EPERM: "operation not permitted; pick a path you can write to",
    errno.ENOTDIR: "a part of the path is a file, not a folder; pick another path",
    errno.EISDIR: "it is a folder; give a file name",
    errno.ENAMETOOLONG: "the name is too long; pick a shorter path",
}


def unwritable(e: OSError, path: str | os.PathLike | None = None) -> str | None:
    """One sentence for an OSError a user can fix (None for any other: a bug keeps its traceback).

    Args:
        path: the file that was being written, when known (else the error's own file name).
    """
    what = _WRITE_ERRORS.get(e.errno)
    if what is None:
        return None
    return f"{path or e.filename or 'a file'}: cannot write ({e.strerror}); {what}."



def atomic_write(path: str | os.PathLike, text: str | bytes) -> None:
    """Write to a temp file in the same folder, then rename: never a half-written file. A
    character device or a pipe (/dev/null, a process substitution) is written to as a stream:
    renaming over it would replace the device with a plain file.

    Raises:
        UserError: the file cannot be written there (no such folder can be made, no permission,
            disk full, ...), naming `path`.
    """
    target = Path(path)
    try:
        if target.exists() and not target.is_file():
            if target.is_char_device() or target.is_fifo():  # /dev/null, a pipe: a stream, never renamed over
                with open(target, "wb" if isinstance(text, bytes) else "w") as f:
                    f.write(text)
                return
            raise UserError(f"{path} is a folder or a special file, not a file; give a file path.")
        _atomic_write(target, text)
    except OSError as e:
        what = unwritable(e, path)
        if what is None and e.errno in (errno.ENOENT, errno.EEXIST):  # e.g. under /proc, or a file where a folder must be
            what = f"{path}: cannot write ({e.strerror}); pick a path in a folder you can write to."
        if what is None:
            raise
        raise UserError(what) from None


def _atomic_write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(text, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable_folder(folder: str | os.PathLike, what: str) -> None:
    """Check that this process can make files in `folder` (or make `folder`), without leaving
    anything behind: a trial folder is made in the nearest existing ancestor and removed.

    Args:
        what: how the message names the folder ("field 'runs_dir'", "-o report.html").

    Raises:
        UserError: it is a file, or nothing can be made there.
    """
    path = Path(folder).absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what}: '{existing}' is a file, not a folder; point it at a folder.")
    try:
        shutil.rmtree(tempfile.mkdtemp(prefix=".rightfit-check.", dir=existing))
    except OSError as e:
        raise UserError(f"{what}: nothing can be written in '{existing}' ({e.strerror}); point it at a folder "
                        f"you can write to.") from None


def remove_orphans(folder: str | os.PathLike, older_than_s: float = 3600) -> list[Path]:
    """Remove the temporary files atomic_write leaves behind when its process is killed mid-write
    (``.<name>.<random>.tmp``), once older than `older_than_s` (a live write takes milliseconds).

    Returns:
        The files removed.
    """
    import time
    cutoff, removed = time.time() - older_than_s, []
    for tmp in Path(folder).glob(".*.tmp"):
        try:
            if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # gone meanwhile
            continue
    return removed


def write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n")


def dump_yaml(data: Any, path: str | os.PathLike) -> None:
    atomic_write(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def publish_dir(work: Path, final: Path) -> None:
    """Swap a finished folder in by rename; an older folder under the same name goes away after.

    Readers see either the old complete folder or the new one, never a mixture.
    """
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- reading

def yaml_key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """1-based line of every mapping key, nested keys as dotted paths ("train.lr" -> 12)."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}{key_node.value}"
            out[path] = key_node.start_mark.line + 1
            out.update(yaml_key_lines(value_node, f"{path}."))
    return out


def duplicate_key(node: yaml.Node | None, prefix: str = "") -> tuple[str, int, int] | None:
    """The first key written twice in one mapping: (dotted key, line, line of the first), or None.

    YAML keeps the last of two equal keys without a word; a duplicate is almost always a mistake.
    """
    if not isinstance(node, yaml.MappingNode):
        return None
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if key in seen:
            return f"{prefix}{key}", line, seen[key]
        seen[key] = line
        found = duplicate_key(value_node, f"{prefix}{key}.")
        if found:
            return found
    return None


def parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """(data, key path -> line) of a YAML text.

    Raises:
        yaml.YAMLError: malformed YAML, a key written twice in one mapping, or nesting deeper
            than Python's recursion limit.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        twice = duplicate_key(node)
        if twice:
            raise yaml.MarkedYAMLError(problem=f"key '{twice[0]}' appears twice (also line {twice[2]}); keep one",
                                       problem_mark=yaml.Mark("", 0, twice[1] - 1, 0, None, None))
        return yaml.safe_load(text), yaml_key_lines(node)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


def load_yaml(path: str | os.PathLike) -> tuple[Any, dict[str, int]]:
    """Read a YAML file; return (data, key path -> line number).

    Raises:
        UserError: missing file, unreadable bytes, malformed YAML.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found; check the path.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start}); save the file as UTF-8.") from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UserError(f"{path}{line}: malformed YAML ({problem}); fix it there.") from None


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages ("a number", "a list")."""
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def decode_utf8(data: bytes) -> tuple[str | None, int, str]:
    """(text with a leading BOM dropped, 0, "") or (None, line, why) when `data` is not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), 0, ""
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return None, line, f"byte 0x{data[e.start]:02x} is not valid UTF-8; re-save the file as UTF-8"


def parse_jsonl(text: str) -> Iterator[tuple[int, dict | None, str]]:
    """Yield (line, object, "") per non-blank line, or (line, None, why) for a bad line."""
    # split on "\n" only: str.splitlines would also split on U+2028, legal inside a JSON string
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, None, f"malformed JSON ({e.msg} at column {e.colno}); each line must be one complete JSON object"
            continue
        except RecursionError:
            yield number, None, "the JSON is nested too deeply to read; each line must be one flat JSON object"
            continue
        if not isinstance(row, dict):
            yield number, None, f"expected a JSON object ({{...}}), got {json_type(row)}"
            continue
        yield number, row, ""


# ---------------------------------------------------------------- one lock

class FileLock:
    """An exclusive lock on a file, held by this process (``fcntl.flock``).

    The kernel releases the lock when its holder exits, however it exits, so a killed holder
    never leaves a lock that someone must guess to be stale, and two processes can never both
    hold it. The file's content (pid, host, start time) only feeds the message a refused
    process prints; no decision reads it.

        lock = FileLock(folder / ".lock")
        lock.acquire("is using this run directory", "pick another --run-id")  # UserError if held
        ...
        lock.release()                     # removes the file

    Args:
        path: the lock file (created if missing).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None
        self.previous: dict | None = None  # what a holder that died without releasing wrote

    def acquire(self, activity: str, hint: str) -> "FileLock":
        """Take the lock, or raise UserError: "<folder>: another rightfit process (<holder>)
        <activity>; <hint>." """
        import fcntl
        while True:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = read_holder(self.path)
                who = f"pid {holder['pid']}, started {holder.get('started')}" if holder else "another process"
                raise UserError(f"{self.path.parent}: another rightfit process ({who}) {activity}; {hint}.") from None
            # A releasing holder unlinks the file before closing it: if our file is no longer the
            # one at the path, we locked a removed inode and must start over.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            self.previous = _parse_holder(os.read(fd, 4096))
            mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()})
            os.ftruncate(fd, 0)
            os.pwrite(fd, mine.encode(), 0)
            self._fd = fd
            return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file and let go (a no-op when not held)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "FileLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _parse_holder(data: bytes) -> dict | None:
    try:
        holder = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return holder if isinstance(holder, dict) else None


def read_holder(path: Path) -> dict | None:
    """What the holder of a lock file wrote about itself (None when empty or unreadable)."""
    try:
        return _parse_holder(Path(path).read_bytes())
    except OSError:
        return None
