"""Keep Python's full garbage collections out of the frames drawn while answers stream.

A full (generation 2) collection walks every tracked object. With Textual, Rich, two panes of rendered lines and the
turn's history alive, that took up to 123 ms on this 2-core machine, 7 times in 40 s of streaming (measured with
gc.callbacks while both panes streamed): visible as stutter and as the slowest key presses in benchmarks/tui.py.

So at quiet moments (the app has drawn its first screen; a turn has finished and voting opens) we collect everything
once and then freeze the survivors (`gc.freeze`): later automatic collections skip frozen objects and only walk what
was allocated since, which stays small during one turn. Unfreezing before each collection lets garbage among earlier
frozen objects (a previous round's widgets, say) still be freed, so memory does not grow round after round.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect all garbage now, then exempt the survivors from automatic collections until the next settle."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
