"""The Textual shell over the core. Nothing outside this package imports Textual."""
