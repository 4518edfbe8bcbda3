"""Model files: GGUF facts (facts), where a catalog model lives and how it is fetched or built (resolve, hub,
quantize), and whether a matchup fits in memory (preflight). No Textual, no model weights loaded here."""
