"""Watch a folder that fills during a session: each new acquisition is handed
over once it is complete (its size and modification time unchanged for a few
seconds, as a file still being written by the acquisition software keeps
growing)."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["watch"]


def _candidates(folder: Path, extensions):
    return sorted(
        f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in extensions
    )


def watch(
    folder: Path,
    process,
    on_row,
    settle=2.0,
    poll=1.0,
    idle_timeout=None,
    max_files=None,
    extensions=(".dm4", ".dm3", ".hspy", ".zspy"),
    skip=(),
):
    """Process each complete new file of ``folder``, until stopped.

    Files already in the folder when watching starts are processed too (the
    first acquisitions of the session), but for those in ``skip`` (done by
    an earlier session). A file that failed is tried again if it changes
    afterwards (written in two parts, say). Stops on Ctrl+C, after
    ``idle_timeout`` seconds without a new file, or after ``max_files``.

    Parameters
    ----------
    folder : Path
    process : callable
        ``process(path) -> row`` (a summary row with ``status``).
    on_row : callable
        Called with each row as soon as it is ready.
    settle : float
        Seconds a file's size and modification time must stay unchanged.
    poll : float
        Seconds between scans of the folder.
    skip : iterable of str
        Resolved paths of files not to process.

    Returns
    -------
    list of dict
        The rows, in processing order.
    """
    if not folder.is_dir():
        from .main import EXIT, CommandError

        raise CommandError(f"--watch {folder}: no such folder.", EXIT["usage"])
    print(f"watching {folder} (Ctrl+C to stop)", flush=True)
    skip = set(skip)
    # path -> the (size, mtime) it was processed at (a failed file is tried
    # again when that changes).
    done, seen, rows = {}, {}, []
    last_new = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            for path in _candidates(folder, extensions):
                if str(path.resolve()) in skip:
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:  # removed since the listing
                    continue
                signature = (stat.st_size, stat.st_mtime_ns)
                if path in done and done[path] in (None, signature):
                    continue
                first = seen.get(path)
                if first is None or first[0] != signature:
                    seen[path] = (signature, now)  # new, or still growing
                    last_new = now
                    continue
                if now - first[1] < settle or stat.st_size == 0:
                    continue
                row = process(path)
                done[path] = None if row.get("status") == "ok" else signature
                rows.append(row)
                on_row(row)
                last_new = time.monotonic()
                if max_files is not None and len(rows) >= max_files:
                    return rows
            if idle_timeout is not None and time.monotonic() - last_new > idle_timeout:
                print(f"no new file for {idle_timeout:g} s: stopping", flush=True)
                return rows
            time.sleep(poll)
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return rows
