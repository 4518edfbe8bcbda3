"""A team arena: the models of one matchup or ladder loaded once, in one inference server each, shared by every voter's
session through a fair, blind queue.

- `servers`: starts and supervises one `python -m llama_cpp.server` per local model (restarts, shutdown, kill -9 safety).
- `lease`: who runs next (one session's round at a time; round-robin by voter).
- `gateway`: the loopback HTTP proxy the sessions talk to (`/m/<model id>/v1/...`, `/team/status`).
- `backend`: the session side, a `Backend` whose engines talk to the gateway.
- `runtime`: what `arena serve --team` starts and stops, and the checks before it starts anything.

Textual-free (checked by .importlinter); above engine/models/battle, below the TUI and CLI.
"""
