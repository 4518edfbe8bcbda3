"""User-facing errors.

Every failure a person can cause or meet (bad config, missing model, no network, full disk, ...) is raised as an
`ArenaError`: one paragraph naming the file/field/cause, plus the fix. The CLI prints it and exits with `exit_code`;
the TUI shows it in a dialog and stays up. Tracebacks are for bugs only.
"""

from __future__ import annotations

EXIT_USAGE = 2  # usage and configuration errors (documented in the README)
EXIT_RUNTIME = 1  # everything else the user can fix: missing files, network, memory, disk


class ArenaError(Exception):
    """An error with a message written for the person at the keyboard."""

    exit_code: int = EXIT_RUNTIME
    # True when the refusal is a safety estimate the person may override (`--force` on the CLI, `f` in the TUI).
    # A typed flag, so front ends never match the message text to decide whether to offer the override.
    forceable: bool = False

    def __init__(self, message: str, fix: str | None = None, *, exit_code: int | None = None) -> None:
        self.message = message.rstrip()
        self.fix = fix.rstrip() if fix else None
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(self.render())

    def render(self) -> str:
        """One paragraph: what went wrong, then how to fix it."""
        text = self.message
        if not text.endswith((".", "!", "?", ":")):
            text += "."
        if self.fix:
            text += " Fix: " + self.fix
            if not text.endswith((".", "!", "?")):
                text += "."
        return text


class ConfigError(ArenaError):
    """A mistake in models.yaml or a prompt-suite file. Always exit code 2."""

    exit_code = EXIT_USAGE


class UsageError(ArenaError):
    exit_code = EXIT_USAGE


class ModelError(ArenaError):
    """A model file that is missing, corrupt, unsupported, or does not fit in memory."""


class MemoryRefused(ModelError):
    """The RAM preflight's estimate says the models will not fit together; loading anyway is the person's call."""

    forceable = True


class EngineError(ArenaError):
    """Inference failed: load error, server unreachable, HTTP error, context overflow, ..."""


class StoreError(ArenaError):
    """The vote database cannot be opened or written (locked, full disk, corrupt)."""
