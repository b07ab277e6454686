"""A support-hours clock for a real Alertmanager: a zoneinfo directory in which
`Europe/Berlin` is a fixed offset chosen so that *now* reads as a given Berlin
wall-clock time.

Alertmanager evaluates `time_intervals` at notify time with the real clock,
converted to each interval's `location` (Go `time.LoadLocation`). Go reads the
time zone database from the directory named by the ZONEINFO environment
variable before the system one (https://pkg.go.dev/time#LoadLocation), so an
Alertmanager started with ZONEINFO=<this dir> runs the generated configuration
unchanged and sees "Wednesday 10:30 in Berlin" whenever we ask. libfaketime is
no help: Go does not read the clock through libc.

The file is TZif version 1 (RFC 8536): no transitions, one local time type.
Go falls back to the system database silently when a file does not parse, so
every test using this must also show a contrast (the same route delivering at
one instant and not at another), which a silent fallback cannot produce.
"""
from __future__ import annotations

import struct
from datetime import datetime, timezone
from pathlib import Path


def tzif_fixed(offset_seconds: int, abbrev: bytes = b"TST") -> bytes:
    header = b"TZif" + b"\x00" + b"\x00" * 15
    # isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    counts = struct.pack(">6l", 0, 0, 0, 0, 1, len(abbrev) + 1)
    ttinfo = struct.pack(">lBB", offset_seconds, 0, 0)
    return header + counts + ttinfo + abbrev + b"\x00"


def zoneinfo_at(directory: Path, wall: datetime, zone: str = "Europe/Berlin",
                now: datetime | None = None) -> Path:
    """Write <directory>/<zone> so that `now` (default: the real now) is `wall` (naive) in `zone`."""
    now = now or datetime.now(timezone.utc)
    offset = round((wall.replace(tzinfo=timezone.utc) - now).total_seconds())
    path = directory / zone
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tzif_fixed(offset))
    return directory
