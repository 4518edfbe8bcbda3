"""Temp files of interrupted writes: every file arena builds (assembled, quantized) is written as
`.<name>.<pid>.partial` and renamed into place when complete, so a killed run leaves only such temps behind.

Its own module because both writers (`resolve` assembles, `quantize` quantizes) clean up the same way, and neither should
import the other for it.
"""

from __future__ import annotations

import os
from pathlib import Path


def partial_path(target: Path) -> Path:
    """This process's temp name for `target`."""
    return target.with_name(f".{target.name}.{os.getpid()}.partial")


def remove_stale_temps(target: Path) -> None:
    """Temp files of runs that were killed (their pid no longer exists), and this process's own leftovers."""
    for tmp in target.parent.glob(f".{target.name}.*.partial"):
        try:
            pid = int(tmp.name.rsplit(".", 2)[-2])
        except ValueError:
            continue
        if pid == os.getpid() or not pid_alive(pid):
            tmp.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True
