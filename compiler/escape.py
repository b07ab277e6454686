"""Escaping customer text for each target language.

Validation already keeps ids and label values to safe character sets; these
functions are the second line of defence for free text (display names).
"""
from __future__ import annotations

from typing import Any


def terraform_literal(text: str) -> str:
    """Terraform JSON evaluates `${` and `%{` in every string; double them to stay literal."""
    return text.replace("${", "$${").replace("%{", "%%{")


def terraform_literals(value: Any) -> Any:
    if isinstance(value, str):
        return terraform_literal(value)
    if isinstance(value, dict):
        return {k: terraform_literals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [terraform_literals(v) for v in value]
    return value


def promql_string(text: str) -> str:
    """A PromQL/Go string literal body: backslash, double quote and newlines escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def markdown_text(value: object) -> str:
    """Customer text inside Markdown (handoff report, PR summaries, report tables): no table
    breaks, no markup, no raw HTML; newlines shown as ⏎ so a value stays on its line."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "⏎")
    for ch in "\\`*_{}[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text

