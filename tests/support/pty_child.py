"""The app that tests/support/pty_app.py runs on a pseudo-terminal: the real ArenaApp with scripted engines, which
writes what the prompt box holds, and the notifications shown, to a report file when ctrl+q quits it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import arena.tui.app as app_module
from arena.config.loader import load_config
from arena.tui.app import ArenaApp
from tests.support.fake_engine import fake_backend


class ChildApp(ArenaApp):
    CSS_PATH = str(Path(app_module.__file__).parent / ArenaApp.CSS_PATH)  # relative paths resolve next to this file

    def __init__(self, *args: object, report: Path, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.report = report
        self.notes: list[str] = []

    def notify(self, message: str, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        self.notes.append(str(message))
        super().notify(message, *args, **kwargs)  # type: ignore[arg-type]

    async def action_quit(self) -> None:
        try:
            value = self.screen.query_one("#prompt").value  # type: ignore[attr-defined]
        except Exception:
            value = None
        self.report.write_text(json.dumps({"prompt": value, "notes": self.notes}))
        await super().action_quit()


def main() -> int:
    cfg, db, report = sys.argv[1:4]
    app = ChildApp(load_config(cfg), db, matchup_id="demo", seed=1, backend=fake_backend({}), report=Path(report))
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
