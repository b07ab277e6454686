"""pydantic validation errors in plain words (issue 27): no library phrasing
("Input should be a valid string"), no regular expressions, and "did you mean"
for a misspelled key. Used by validate.parse_model for every document it reads.

Hand-written because no library does this: pydantic's own messages are the
ones being replaced, and the suggestions come from the standard library's
difflib (get_close_matches, Ratcliff/Obershelp similarity)."""
from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel

from . import models

# What a pattern-checked value must look like, keyed by the pattern (models.py).
PATTERN_WORDS = {
    models.SLUG: "lowercase letters, digits and hyphens, starting with a letter (e.g. acme-logistics)",
    models.ID_PATTERN: "lowercase letters, digits and hyphens, starting with a letter (e.g. acme-logistics)",
    models.SAFE_TEXT: "one line of text, without control characters",
    models.LABEL_SAFE: "letters, digits, spaces and . _ @ + # -, starting with a letter or digit",
    models.HOSTNAME: "a lowercase domain name such as assistant.example.com",
    models.SCAN_RRULE: "a schedule the scan timer can run: FREQ=DAILY, or FREQ=WEEKLY;BYDAY=SU (days MO..SU), "
                       "optionally ;BYHOUR=2",
    models.ENV_ID: "an environment variable name: capital letters, digits and _ (e.g. ACME_TELEGRAM_BOT_TOKEN)",
    r"^\d{4}-\d{2}-\d{2}$": "a date written YYYY-MM-DD (e.g. 2026-11-26)",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date written YYYY-MM-DD (e.g. 2026-11-26)",
    r"^[0-9]+\.[0-9]+\.[0-9]+$": "a version number such as 2026.9.6",
    r"^[1-9][0-9]*[mhd]$": "a duration such as 30m, 6h or 7d",
    r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$": "a time of day written HH:MM (00:00 to 24:00)",
    r"^[a-z0-9-]+/[A-Za-z0-9._:-]+$": "a model written provider/model (e.g. anthropic/claude-sonnet-4-5)",
    r"^#[0-9A-Fa-f]{6}$": "a colour written #RRGGBB (e.g. #0b6e4f)",
    r"^#[a-z0-9_-]{1,79}$": "a Slack channel such as #alerts",
    r"^\+[1-9][0-9]{6,14}$": "a phone number in international form (e.g. +4930123456)",
    r"^cus_[A-Za-z0-9]{6,40}$": "a Stripe customer id (cus_…)",
    r"^sub_[A-Za-z0-9]{6,40}$": "a Stripe subscription id (sub_…)",
    r"^evt_[A-Za-z0-9]{6,60}$": "a Stripe event id (evt_…)",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$": "an email address (name@example.com)",
}
TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number", "float_type": "a number",
    "float_parsing": "a number", "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list",
    "dict_type": "a mapping of keys to values", "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values", "int_from_float": "a whole number",
}


def _what(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_q(value)}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _q(value: Any) -> str:
    """A customer's value echoed on one line: control characters escaped, long values cut."""
    text = str(value)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        text = text.encode("unicode_escape").decode("ascii")
    return "'" + (text if len(text) <= 80 else text[:79] + "…") + "'"


def _choices(ctx: dict) -> str:
    expected = str(ctx.get("expected", ""))
    return expected.replace("'", "").replace(" or ", ", ")


def message(err: dict[str, Any], root: type[BaseModel] | None = None) -> str:
    kind, loc, value, ctx = err["type"], tuple(err["loc"]), err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = allowed_keys(root, loc[:-1]) if root else []
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f" (allowed here: {', '.join(sorted(known))})" if known else "")
        return f"unknown key '{key}'{hint}"
    if kind == "missing":
        return f"required key '{loc[-1]}' is missing" if loc else "required key is missing"
    if kind in TYPE_WORDS:
        return f"expected {TYPE_WORDS[kind]}, got {_what(value)}"
    if kind == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(ctx.get("pattern", ""), "the form this key takes (the JSON Schemas in generated/schemas/ spell it out)")
        return f"{_q(value)} is not valid here: expected {words}"
    if kind in ("literal_error", "enum"):
        return f"{_q(value)} is not one of the allowed values: {_choices(ctx)}"
    if kind == "finite_number":
        return "must be a finite number (not .nan or .inf)"
    if kind == "decimal_max_places":
        return f"has more than {ctx.get('decimal_places')} decimal places: write whole cents, e.g. 249.50"
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return f"{_q(value)} has too many digits"
    if kind in ("decimal_parsing", "decimal_type"):
        return f"expected a number, got {_what(value)}"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else f"must be at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s), got {ctx.get('actual_length')}"
    for bound, words in (("greater_than_equal", "at least"), ("greater_than", "more than"),
                         ("less_than_equal", "at most"), ("less_than", "less than")):
        if kind == bound:
            limit = next(iter(ctx.values()), "?")
            return f"must be {words} {limit}, got {_q(value)}"
    msg = str(err.get("msg", kind))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes an annotation can hold (through Optional, list, dict, Annotated, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def allowed_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys (YAML spelling) a mapping at `loc` of `root` accepts."""
    candidates = [root]
    for part in loc:
        if isinstance(part, int):
            continue                       # a list index: the same element model
        nxt: list[type[BaseModel]] = []
        for model in candidates:
            for name, info in model.model_fields.items():
                if (info.alias or name) == part:
                    nxt += _models_in(info.annotation)
        if not nxt:                        # a dict key (e.g. a tier name) keeps the value model
            nxt = [m for model in candidates for info in model.model_fields.values()
                   if typing.get_origin(info.annotation) is dict for m in _models_in(info.annotation)] or candidates
        candidates = nxt
    return sorted({info.alias or name for model in candidates for name, info in model.model_fields.items()})

