"""Reading the fleet's Prometheus over its HTTP API, and report periods.

Only two endpoints are used (Prometheus docs, "HTTP API":
https://prometheus.io/docs/prometheus/latest/querying/api/):
`GET /api/v1/query?query=&time=` (instant vector) and
`GET /api/v1/query_range?query=&start=&end=&step=` (matrix). Both answer
`{"status": "success", "data": {"resultType": ..., "result": [...]}}`, each
result `{"metric": {labels}, "value": [t, "v"]}` or `"values": [[t, "v"], ...]`.
A range query is refused past 11,000 points per series, so steps are chosen to
stay under it.
"""
from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx

MAX_POINTS = 11_000


class MetricsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Period:
    """A calendar month (`2026-10`) or quarter (`2026-Q4`), UTC, end exclusive."""
    label: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    @property
    def window(self) -> str:
        """The PromQL range covering the period, evaluated at `end`."""
        return f"{self.seconds}s"

    def months(self) -> list["Period"]:
        out, cur = [], self.start
        while cur < self.end:
            p = parse_period(f"{cur.year:04d}-{cur.month:02d}")
            out.append(p)
            cur = p.end
        return out


def parse_period(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if m:
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"period {text!r}: month must be 01..12")
        start = datetime(year, month, 1, tzinfo=timezone.utc)
        end = start + timedelta(days=calendar.monthrange(year, month)[1])
        return Period(text, start, end)
    m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
    if m:
        year, q = int(m[1]), int(m[2])
        start = datetime(year, 3 * q - 2, 1, tzinfo=timezone.utc)
        end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=timezone.utc)
        return Period(text, start, end)
    raise ValueError(f"period {text!r}: expected YYYY-MM or YYYY-Qn")


def previous_period(now: datetime, quarter: bool = False) -> Period:
    """The last complete month (or quarter) before `now` (what the 1st-of-the-month job reports)."""
    if quarter:
        q = (now.month - 1) // 3
        year = now.year if q else now.year - 1
        return parse_period(f"{year}-Q{q or 4}")
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return parse_period(f"{year}-{month:02d}")


def step_for(period: Period, wanted: int = 300) -> int:
    """`wanted` seconds, or a multiple of it coarse enough that a range query
    stays under MAX_POINTS (a multiple, so 5-minute samples stay aligned)."""
    return wanted * max(1, math.ceil(period.seconds / (MAX_POINTS - 1) / wanted))


Labels = dict[str, str]


class Prometheus:
    def __init__(self, url: str, client: httpx.Client | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def _get(self, path: str, params: dict) -> list[dict]:
        try:
            response = self.client.get(f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise MetricsError(f"{self.url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise MetricsError(f"{self.url}{path}: HTTP {response.status_code}, not JSON") from None
        if body.get("status") != "success":
            raise MetricsError(f"{self.url}{path} {params.get('query')!r}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def instant(self, query: str, at: datetime) -> list[tuple[Labels, float]]:
        result = self._get("/api/v1/query", {"query": query, "time": f"{at.timestamp():.3f}"})
        return [(r["metric"], float(r["value"][1])) for r in result]

    def scalar(self, query: str, at: datetime) -> float | None:
        """The single value of `query`, None when it has no series."""
        result = self.instant(query, at)
        if len(result) > 1:
            raise MetricsError(f"{query!r} returned {len(result)} series, expected at most one")
        return result[0][1] if result else None

    def range(self, query: str, period: Period, step: int) -> list[tuple[Labels, list[tuple[float, float]]]]:
        params = {"query": query, "start": f"{period.start.timestamp():.3f}",
                  "end": f"{(period.end.timestamp() - step):.3f}", "step": str(step)}
        return [(r["metric"], [(float(t), float(v)) for t, v in r["values"]]) for r in self._get("/api/v1/query_range", params)]
