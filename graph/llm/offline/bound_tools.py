"""Describe the tools bound to the model and infer which agent it is serving.

LangChain hands bound tools to the model as OpenAI-format dicts; the offline
policy only reads their names and JSON-schema parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from graph.llm.offline.conversation import HANDOFF_PREFIX

AgentRole = Literal["triage", "billing", "returns", "assistant"]
"""`assistant`: no handoff tools bound, so the model serves every department itself."""


@dataclass(frozen=True)
class ToolSpec:
    """A bound tool's name and JSON-schema parameters."""

    name: str
    description: str = ""
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required: frozenset[str] = frozenset()

    @classmethod
    def from_openai(cls, tool: Mapping[str, Any]) -> ToolSpec:
        """Read an OpenAI-format tool dict (`{"type": "function", "function": {...}}`)."""
        function = tool.get("function", tool)
        parameters = function.get("parameters") or {}
        return cls(
            name=str(function["name"]),
            description=str(function.get("description") or ""),
            properties=dict(parameters.get("properties") or {}),
            required=frozenset(parameters.get("required") or ()),
        )


@dataclass(frozen=True)
class BoundTools:
    """The tools bound to one model call, by name."""

    specs: Mapping[str, ToolSpec]

    @classmethod
    def from_openai(cls, tools: Iterable[Mapping[str, Any]] | None) -> BoundTools:
        """Index OpenAI-format tool dicts by name."""
        specs = [ToolSpec.from_openai(tool) for tool in tools or ()]
        return cls({spec.name: spec for spec in specs})

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def get(self, name: str) -> ToolSpec | None:
        """Return the spec of `name`, or None when it is not bound."""
        return self.specs.get(name)

    @property
    def role(self) -> AgentRole:
        """Infer the agent from its handoff tools.

        Triage can transfer to both specialists; each specialist can transfer to
        triage and to the other specialist.
        """
        targets = {
            name[len(HANDOFF_PREFIX) :] for name in self.specs if name.startswith(HANDOFF_PREFIX)
        }
        if "triage" not in targets and {"billing", "returns"} <= targets:
            return "triage"
        if "triage" in targets and "returns" in targets and "billing" not in targets:
            return "billing"
        if "triage" in targets and "billing" in targets and "returns" not in targets:
            return "returns"
        return "assistant"
