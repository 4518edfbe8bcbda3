"""Plain typed records shared by every layer (models, store, battle, stats, shells). Imports nothing above it."""

from arena.records.battle import BattleRecord, SideRecord, Vote
from arena.records.facts import ModelFacts
from arena.records.score import ModelScore, ScoreSettings, TextScore

__all__ = ["BattleRecord", "ModelFacts", "ModelScore", "ScoreSettings", "SideRecord", "TextScore", "Vote"]
