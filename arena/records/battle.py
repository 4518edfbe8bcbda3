"""What a finished round is: the exact record the store keeps. Pure data, no I/O.

`Vote` is the person's verdict on one round (the engine's end-of-stream event is `arena.engine.scheduler.StreamEnd`)."""

from __future__ import annotations

import uuid as uuid_mod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class Vote(str, Enum):
    A = "A"  # the left pane's answer was better
    B = "B"  # the right pane's answer was better
    TIE = "tie"
    BOTH_BAD = "both_bad"


@dataclass
class SideRecord:
    """One pane of a round. Side A is always the left pane; which model sits there is random per round."""

    model_id: str
    messages: list[dict[str, str]]  # the full conversation this model saw and produced, system prompt included
    sampling: dict[str, Any]  # the ChatParams used (without seed)
    seeds: list[int]  # one per assistant turn
    timings: list[dict[str, Any]]  # one Timings.to_dict() per assistant turn
    finish_reasons: list[str]  # one per assistant turn: stop / length / cancelled / error
    stopped: bool = False  # any turn stopped by the user
    checks: dict[str, Any] | None = None  # objective checks of the final answer (JSON shape, math answer), if any


@dataclass
class BattleRecord:
    matchup_id: str
    big_model: str  # model id of the big/harsh contender
    small_model: str  # model id of the small/light contender
    side_a: SideRecord
    side_b: SideRecord
    outcome: Vote
    display_policy: str
    identity_leak: bool = False
    leak_terms: list[str] = field(default_factory=list)  # e.g. ["Qwen"] found in an answer
    category: str = "uncategorized"
    suite_id: str | None = None
    prompt_id: str | None = None
    voter: str | None = None
    app_version: str = ""
    uuid: str = field(default_factory=lambda: str(uuid_mod.uuid4()))
    tstamp: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"))

    @property
    def model_a(self) -> str:
        return self.side_a.model_id

    @property
    def model_b(self) -> str:
        return self.side_b.model_id

    @property
    def winner_model(self) -> str | None:
        if self.outcome is Vote.A:
            return self.model_a
        if self.outcome is Vote.B:
            return self.model_b
        return None
