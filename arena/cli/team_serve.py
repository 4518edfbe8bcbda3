"""`arena serve --team`: the models of one matchup or ladder loaded once, every browser session voting on them.

Order: everything that can be refused cheaply is checked before any model loads (the web port, the ids, the files,
memory, the server packages); then the model servers start (minutes for big models, progress on stderr), then the
gateway, then textual-serve, whose command runs `arena tui --team-gateway URL` for each browser. Ctrl+C or SIGTERM
stops the web server, the gateway and every model server (see arena.team.servers for kill -9).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from arena.cli.output import err
from arena.paths import data_dir


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `with` below, which stops the servers


def run_team(args: argparse.Namespace, server_class: Any, session_argv: Callable[..., list[str]],
             public_url: str) -> int:
    """`server_class`: textual-serve's Server; `session_argv(args, **overrides)`: the `arena tui` command line;
    `public_url`: where browsers reach the web server."""
    from arena.config.loader import load_config
    from arena.team.runtime import TeamRuntime, check_port_free, check_server_deps, plan_team

    check_port_free(args.host, args.port)
    config = load_config(args.config)
    plan = plan_team(config, matchup=args.matchup, ladder=args.ladder, force=args.force)
    if plan.local:
        check_server_deps()
    kind = "ladder" if plan.ladder else "matchup"
    if plan.skipped:
        err(f"[team] not on disk, left out until `arena pull {plan.record_id}`: {', '.join(plan.skipped)}")
    if plan.memory_note:
        err(f"[team] starting anyway (--force): {plan.memory_note}")
    log_dir = data_dir() / "team" / time.strftime("%Y%m%d-%H%M%S")
    err(f"[team] {kind} {plan.record_id}: starting {len(plan.local)} model server(s)"
        + (f", proxying {len(plan.remote)} remote model(s)" if plan.remote else "") + f"; logs in {log_dir}")
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        started = time.monotonic()
        with TeamRuntime(plan, log_dir, on_event=lambda message: err(f"[team] {message}")) as team:
            url = team.gateway.url
            err(f"[team] model servers up in {time.monotonic() - started:.0f} s; gateway {url} (status: {url}/team/status)")
            ladder = plan.record_id if plan.ladder else None
            argv = session_argv(args, team_gateway=url, matchup=None if ladder else plan.record_id, ladder=ladder)
            err(f"[team] voters open {public_url} in a browser; Ctrl+C stops everything")
            server_class(shlex.join(argv), host=args.host, port=args.port, title="Quant Arena (team)",
                         public_url=public_url).serve()
        err("[team] stopped: web server, gateway and model servers")
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
