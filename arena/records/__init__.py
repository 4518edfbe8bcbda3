"""Plain typed records shared by every layer (models, store, battle, stats, shells). Imports nothing above it."""

from arena.records.battle import BattleRecord, SideRecord, Vote
from arena.records.facts import ModelFacts

__all__ = ["BattleRecord", "ModelFacts", "SideRecord", "Vote"]
