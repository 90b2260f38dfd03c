"""Metrology entry: what the dialog says, how it reads the typed thickness, what it reports.

The measured Cu thickness of a lot's last plating run teaches the plating tool its current
efficiency η (mes.services.plating.record_metrology); the range check is the service's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

from mes.domain.errors import InvalidInput
from mes.services.plating import MetrologyResult
from mes.services.reads import LotRow
from mes.store.tables import PlatingRecord

EXAMPLE = "e.g. 5.2"


def parse_thickness(text: str) -> float:
    """The typed thickness in µm; InvalidInput (shown in the dialog) when it is no number."""
    value = text.strip()
    if not value:
        raise InvalidInput(f"thickness: enter the measured Cu thickness in µm, {EXAMPLE}")
    try:
        thickness = float(value)
    except ValueError:
        raise InvalidInput(f"thickness {value!r} is not a number: enter µm, {EXAMPLE}") from None
    if not math.isfinite(thickness):
        raise InvalidInput(f"thickness {value!r} is not a finite number: enter µm, {EXAMPLE}")
    return thickness


def last_run(records: Sequence[PlatingRecord]) -> list[PlatingRecord]:
    """The records of the lot's last plating run: the one a measurement is compared with."""
    if not records:
        return []
    run_id = max(r.run_id for r in records)
    return [r for r in records if r.run_id == run_id]


def metrology_detail(lot: LotRow, records: Sequence[PlatingRecord]) -> str:
    """What the dialog says about the run the measurement will be compared with."""
    last = last_run(records)
    assert last, "the dialog opens only for a lot with plating records"
    n = len(last)
    computed = fmean(r.thickness_um for r in last)
    eta = fmean(r.eta for r in last)
    return (
        f"Lot {lot.id}: run {last[0].run_id} plated {n} wafer{'s' * (n != 1)} at "
        f"{last[0].step}, computed {computed:.2f} µm at η {eta:.3f}. "
        "The measurement updates the plating tool's η."
    )


def metrology_message(lot_id: str, result: MetrologyResult) -> str:
    """The notification after a measurement: η before → after, measured against computed."""
    n = result.wafers
    return (
        f"{lot_id}: η {result.eta_before:.3f} → {result.eta_after:.3f} "
        f"(measured {result.measured_um:g} µm, computed {result.computed_um:.2f} µm "
        f"on {n} wafer{'s' * (n != 1)}){result.eta_note}"
    )
