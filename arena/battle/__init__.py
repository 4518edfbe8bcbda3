"""A round: sides, blinding policy, turns, timings, vote -> record."""
