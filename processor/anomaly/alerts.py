"""Alerts with deterministic ids: a replay raises the same alert with the same id."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Alert:
    detector: str  # the configured name, e.g. sales_mass_export
    kind: str  # the detector type, e.g. volume_threshold
    severity: str
    actor: str
    role: str
    action: str
    window_start_ms: int
    window_end_ms: int
    observed: float
    threshold: float
    detail: str = ""

    @property
    def alert_id(self) -> str:
        key = f"{self.detector}|{self.actor}|{self.window_start_ms}|{self.window_end_ms}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, **asdict(self)}
