"""Statistics as pure functions over aggregated vote counts. No I/O, no Textual."""
