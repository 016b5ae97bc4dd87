"""Input, output and tool-result guards (issue 5).

Build once at start-up, then call per turn:

    guards = build_guards(GuardConfig.from_settings(settings))   # logs one status line
    verdict = await guards.input.ascan(message, vault)            # before triage/tools
    stream = guards.output.new_stream(OutputContext.build(...))   # per reply
    for release in await stream.afeed(delta): ...                 # only passed text
    verdict = await guards.output.acheck_tool_result(tool_text)   # before the model reads it
"""

from graph.guards.config import GuardConfig
from graph.guards.errors import GuardConfigError, GuardError, GuardModelUnavailable
from graph.guards.injection import InjectionDetector
from graph.guards.input_guard import InputGuard
from graph.guards.notices import REFUSAL_INPUT, REFUSAL_OUTPUT, redaction_notice
from graph.guards.output_guard import TOOL_PASSAGE_REMOVED, OutputGuard, OutputStream
from graph.guards.pii import PiiEntity, PiiScanner, RedactionResult, Vault, restore
from graph.guards.pipeline import Guards, build_guards
from graph.guards.verdicts import (
    Action,
    GuardTrip,
    InputVerdict,
    OutputContext,
    Release,
    Stage,
    ToolResultVerdict,
)

__all__ = [
    "REFUSAL_INPUT",
    "REFUSAL_OUTPUT",
    "TOOL_PASSAGE_REMOVED",
    "Action",
    "GuardConfig",
    "GuardConfigError",
    "GuardError",
    "GuardModelUnavailable",
    "GuardTrip",
    "Guards",
    "InjectionDetector",
    "InputGuard",
    "InputVerdict",
    "OutputContext",
    "OutputGuard",
    "OutputStream",
    "PiiEntity",
    "PiiScanner",
    "RedactionResult",
    "Release",
    "Stage",
    "ToolResultVerdict",
    "Vault",
    "build_guards",
    "redaction_notice",
    "restore",
]
