"""Fitting a conversation into a context window by dropping the oldest turns. Pure: the engines supply the counter.

Policy (documented for users): system messages and the last user turn are always kept; whole older turns (a user
message and the assistant replies after it) are dropped oldest first until the prompt leaves room for the answer.
The number of dropped turns is reported as `Finished.truncated_turns`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arena.engine.types import Message


@dataclass(frozen=True)
class Fit:
    messages: list[Message]
    dropped_turns: int
    prompt_tokens: int  # as counted by the engine's counter for `messages`


class DoesNotFit(Exception):
    """Even the system prompt plus the last user turn is over the limit."""

    def __init__(self, prompt_tokens: int) -> None:
        super().__init__(prompt_tokens)
        self.prompt_tokens = prompt_tokens


def split_turns(messages: list[Message]) -> tuple[list[Message], list[list[Message]]]:
    """(leading system messages, turns); a turn starts at each user message."""
    head: list[Message] = []
    turns: list[list[Message]] = []
    for message in messages:
        if message.get("role") == "system" and not turns:
            head.append(message)
        elif message.get("role") == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return head, turns


def fit_messages(messages: list[Message], count: Callable[[list[Message]], int], limit: int) -> Fit:
    """Drop the oldest turns until `count(messages) <= limit`; raise DoesNotFit if the last turn alone is over."""
    tokens = count(messages)
    if tokens <= limit:
        return Fit(list(messages), 0, tokens)
    head, turns = split_turns(messages)
    for dropped in range(1, len(turns)):
        candidate = head + [m for turn in turns[dropped:] for m in turn]
        tokens = count(candidate)
        if tokens <= limit:
            return Fit(candidate, dropped, tokens)
    raise DoesNotFit(tokens)


def reply_room(n_ctx: int, max_tokens: int) -> int:
    """Tokens to keep free for the answer: max_tokens, but never more than a quarter of the window.

    Without the cap a large max_tokens (512 of a 1024 window) would throw away history that fits comfortably;
    the answer may then stop early with reason "length", which the user sees.
    """
    return max(1, min(max_tokens, n_ctx // 4))


def estimate_tokens(messages: list[Message]) -> int:
    """A server-side tokenizer is unknown: ~4 characters per token plus a per-message template overhead.

    Deliberately rough; used only to drop turns before a remote request (the server still has the last word).
    """
    return sum((len(m.get("content") or "") + 3) // 4 + 8 for m in messages) + 8
