"""User-facing errors.

Every failure a person can cause or meet (bad config, missing model, no network, full disk, ...) is raised as an
`ArenaError`: one paragraph naming the file/field/cause, plus the fix. The CLI prints it and exits with `exit_code`;
the TUI shows it in a dialog and stays up. Tracebacks are for bugs only.

Messages often quote what this program did not write (a server's error body, a file name, a YAML value, a library's
exception text): `render()` passes the whole paragraph through the one sanitizer (`arena.untrusted.visible`), so no
caller can forget it. `message` and `fix` keep the exact text (logs, tests, the stored error detail).

Engine errors carry a second, public text (`EngineError.public`): symmetric and model-free, the only one shown while a
round is blind ("Side B failed: the server stopped answering"). The detail (`render()`: model id, URL, context size, the
server's words) is shown after the vote, in the reveal, and stored.
"""

from __future__ import annotations

from arena.untrusted import visible

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
        """One paragraph: what went wrong, then how to fix it; safe to print on a terminal (see module doc)."""
        return visible(self.render_exact())

    def render_exact(self) -> str:
        """`render()` without the sanitizer: for storage only, never for a terminal."""
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


class Public:
    """The public texts of engine failures: the same words whichever model failed, so they can be shown before the vote.

    Each names what happened, never which model, file, URL or context size (tests check every one with the leak
    detector). "Side B failed: " is put in front by the round (`arena.battle.round`).
    """

    CONTEXT_FULL = "the prompt does not fit this model's context window"
    NO_ANSWER = "the server stopped answering"
    REFUSED = "the server refused the connection"
    UNREACHABLE = "the server could not be reached"
    CONNECTION_BROKE = "the connection broke before the answer was finished"
    SERVER_ERROR = "the server answered with an error"
    NOT_AN_ANSWER = "the server sent something that is not an answer"
    LOAD_FAILED = "the model failed to load"
    GENERATION_FAILED = "the model failed while answering"
    TEMPLATE_REJECTED = "the model's chat template rejected the conversation"
    NOT_LOADED = "the model is not loaded"
    FAILED = "the model failed"  # the default: any engine error not classified above

    @classmethod
    def all(cls) -> list[str]:
        return [v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)]


class EngineError(ArenaError):
    """Inference failed: load error, server unreachable, HTTP error, context overflow, ...

    `public`: one of `Public`'s texts, shown before the vote instead of the detail (see module doc).
    """

    def __init__(
        self, message: str, fix: str | None = None, *, public: str = Public.FAILED, exit_code: int | None = None
    ) -> None:
        self.public = public
        super().__init__(message, fix, exit_code=exit_code)


class StoreError(ArenaError):
    """The vote database cannot be opened or written (locked, full disk, corrupt)."""
