"""The Textual shell over the core. Nothing outside this package imports Textual."""

import os

# Textual draws at most TEXTUAL_FPS frames a second (default 60), and a key's repaint waits for the next frame slot:
# at 60 that wait was 17-30 ms of a ~30 ms keypress-to-repaint while both answers stream; at 120 the whole press took
# ~12 ms (benchmarks/tui.py). Frames are still drawn only when something changed. A user's own TEXTUAL_FPS wins. Set
# here, before any Textual import, because Textual reads it once when it is first imported.
os.environ.setdefault("TEXTUAL_FPS", "120")

# A lone Escape is reported once no further byte follows within ESCDELAY ms (it might start an escape sequence). Textual
# waits 100 ms; 25 ms is still far longer than the gap between the bytes of one sequence from a terminal (tmux 3.5 uses
# 10 ms), and arena.tui.driver makes the wait end on time. A user's own ESCDELAY wins.
os.environ.setdefault("ESCDELAY", "25")
