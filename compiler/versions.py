"""OpenClaw version numbers: parsed by its own tag scheme, ordered by packaging.version.

OpenClaw tags releases `YYYY.M.D`, corrections of a release `YYYY.M.D-<patch>` and
pre-releases `YYYY.M.D-beta.<n>` (openclaw docs/install/development-channels.md,
"Tagging best practices", last updated 2026-01-21: "Tag releases ... (`vYYYY.M.D` or
`vYYYY.M.D-<patch>`)"; npm `openclaw` versions 2026.7.1-1, 2026.7.1-2, 2026.9.1-beta.1
as listed by `npm view openclaw versions`, 2026-12-03). The scheme check here is ours
(packaging would also accept `1.0rc1` or `2026.9.6.dev3`, which OpenClaw never tags);
the ordering is PEP 440's, where `X-beta.N` is a pre-release of X (before it) and
`X-N` an implicit post-release of X (after it): packaging.version.Version does both.
"""
from __future__ import annotations

import re

from packaging.version import Version

OPENCLAW_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-beta\.[1-9][0-9]*|-[1-9][0-9]*)?$")
# Node.js release numbers (and @openclaw/<channel> plugins of a release) are plain semver MAJOR.MINOR.PATCH.
SEMVER_CORE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


def openclaw_version(text: str) -> Version:
    """The comparable version of an OpenClaw release tag (a leading `v` allowed); ValueError if
    `text` is not one of OpenClaw's tag forms."""
    bare = text[1:] if text.startswith("v") else text
    if not OPENCLAW_VERSION.fullmatch(bare):
        raise ValueError(f"'{text}' is not an OpenClaw version (YYYY.M.D, YYYY.M.D-<patch> or YYYY.M.D-beta.<n>)")
    return Version(bare)


def check_openclaw_version(text: str) -> str:
    openclaw_version(text)
    return text


def check_semver_core(text: str) -> str:
    if not SEMVER_CORE.fullmatch(text):
        raise ValueError(f"'{text}' is not a version MAJOR.MINOR.PATCH")
    return text
