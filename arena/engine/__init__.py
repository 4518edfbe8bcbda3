"""Engines turn a conversation into a stream of events: in-process llama.cpp (`local`) or OpenAI-compatible (`remote`)."""
