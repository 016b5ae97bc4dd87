"""The model layer: a factory from settings to a chat model, with fallbacks."""

from graph.llm.factory import build_chat_model

__all__ = ["build_chat_model"]
