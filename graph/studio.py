"""The graph LangGraph Studio opens, compiled *without* a checkpointer.

Run with: make studio   (langgraph dev --no-browser)

The LangGraph server brings its own persistence and refuses graphs compiled
with one; the API compiles the same builder with the Postgres saver instead.
Studio gets the same model, guards and knowledge base as the API; the store's
tools need the API's database pool, so Studio runs without them. Pass the run's
`context` (e.g. `{"customer_id": "cust-001"}`) in the assistant settings.
"""

from __future__ import annotations

from api.resources import load_guards, open_knowledge_base
from api.settings import get_settings
from graph.builder import build_graph
from graph.llm import build_chat_model
from tools.knowledge import make_knowledge_tools

_settings = get_settings()
_kb = open_knowledge_base(_settings)
_knowledge = make_knowledge_tools(_kb, top_k=_settings.kb_top_k) if _kb else []

graph = build_graph(
    build_chat_model(_settings),
    {"triage": _knowledge, "billing": _knowledge, "returns": _knowledge},
    guards=load_guards(_settings),
).compile(name="switchboard")
