"""The graph LangGraph Studio opens, compiled *without* a checkpointer.

Run with: make studio   (langgraph dev --no-browser)

The LangGraph server brings its own persistence and refuses graphs compiled
with one; the API compiles the same builder with the Postgres saver instead.
Pass the run's `context` (e.g. `{"customer_id": "cust-001"}`) in Studio's
assistant settings to act as a demo customer.
"""

from __future__ import annotations

from api.settings import get_settings
from graph.builder import build_graph
from graph.llm import build_chat_model

graph = build_graph(build_chat_model(get_settings())).compile(name="switchboard")
