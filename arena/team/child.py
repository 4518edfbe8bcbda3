"""Run a Python module (the model server) that dies with the team process, even when that one is killed with -9.

    python -m arena.team.child PARENT_PID MODULE [ARGS...]

On Linux the child asks the kernel for SIGKILL when its parent goes (prctl PR_SET_PDEATHSIG), then checks that the
parent is still the team process (it may have died before the call), then runs MODULE as `python -m MODULE ARGS`.

Why a wrapper rather than `preexec_fn`: subprocess documents preexec_fn as unsafe when the parent has threads (the
child may deadlock between fork and exec), and the team process always has some (gateway, supervisor, web server).
Here the call runs in the fresh interpreter before the module is imported (runpy runs it in this same process, so
nothing resets the setting). SIGKILL, because a dead team has nothing left to shut down cleanly.

Note: the kernel sends the signal when the *thread* that started the child ends, not only the process; the supervisor
therefore starts every server from its one long-lived thread (see `arena.team.servers`).
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return  # elsewhere the supervisor's atexit/signal handlers are the only guard
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        print(f"arena.team.child: prctl failed (errno {ctypes.get_errno()})", file=sys.stderr)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m arena.team.child PARENT_PID MODULE [ARGS...]")
    parent, module, args = int(argv[0]), argv[1], argv[2:]
    die_with_parent()
    if os.getppid() != parent:
        raise SystemExit(f"arena.team.child: the team process {parent} is gone; not starting {module}")
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
