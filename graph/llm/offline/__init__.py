"""The offline chat model: intent classification, entity extraction, tool-calling policy."""

from graph.llm.offline.entities import Entities, Money, extract_entities
from graph.llm.offline.intents import INTENT_DEPARTMENTS, IntentPrediction, classify
from graph.llm.offline.model import OfflineChatModel
from graph.llm.offline.rules import ARGUMENT_SOURCES, TOOL_RULES

__all__ = [
    "ARGUMENT_SOURCES",
    "INTENT_DEPARTMENTS",
    "TOOL_RULES",
    "Entities",
    "IntentPrediction",
    "Money",
    "OfflineChatModel",
    "classify",
    "extract_entities",
]
