"""Per-wafer degree of cure during a run: the engine's estimate, from the temperatures seen.

Wafers that enter a run with the same material and the same α see the same
temperature history, so they share one integrator (a lot is usually uniform).
"""

from __future__ import annotations

from dataclasses import dataclass

from mes.services.ledger import CureRecord, WaferCureInput
from recipes.cure import CureState
from recipes.materials import parse_material


@dataclass
class _Group:
    material: str
    alpha0: float
    state: CureState
    peak_c: float = float("-inf")
    gaps: int = 0


class WaferCureTracker:
    """Integrates α for every wafer of a run from one temperature stream."""

    def __init__(self, inputs: list[WaferCureInput]) -> None:
        self.inputs = inputs
        self._groups: dict[tuple[str, float], _Group] = {}
        kinetics = {}
        for w in inputs:
            key = (w.material, round(w.alpha, 9))
            if key not in self._groups:
                if w.material not in kinetics:
                    kinetics[w.material] = parse_material(w.material_body, w.material).kinetics
                self._groups[key] = _Group(
                    w.material, w.alpha, CureState(kinetics[w.material], w.alpha)
                )
        self._key = {w.wafer_id: (w.material, round(w.alpha, 9)) for w in inputs}

    def advance(self, t_s: float, temp_c: float, after_gap: bool = False) -> None:
        for g in self._groups.values():
            try:
                g.state.advance(t_s, temp_c)
            except ValueError:  # a sample out of order or implausible: the hole counts as a gap
                g.gaps += 1
                continue
            g.peak_c = max(g.peak_c, temp_c)
            g.gaps += int(after_gap)

    def alpha(self, wafer_id: str) -> float:
        return self._groups[self._key[wafer_id]].state.alpha

    def records(self) -> list[CureRecord]:
        out = []
        for w in self.inputs:
            g = self._groups[self._key[w.wafer_id]]
            out.append(
                CureRecord(
                    w.wafer_id,
                    w.material,
                    w.alpha,
                    g.state.alpha,
                    g.state.tg_c,
                    g.state.time_above_tg_s,
                    g.peak_c if g.peak_c > float("-inf") else 0.0,
                    g.gaps,
                )
            )
        return out

    def shortfalls(self) -> list[str]:
        """Wafers whose α is below the target they must reach in this run."""
        low = [
            (w.wafer_id, self.alpha(w.wafer_id), w.alpha_target)
            for w in self.inputs
            if w.alpha_target is not None and self.alpha(w.wafer_id) < w.alpha_target
        ]
        if not low:
            return []
        worst = min(low, key=lambda x: x[1])
        names = ", ".join(wid.rsplit("-", 1)[-1] for wid, _, _ in low)
        return [
            f"degree of cure below target after this cure: {len(low)} wafer(s) ({names}); "
            f"lowest α = {worst[1]:.3f} ({worst[0]}) < {worst[2]:.2f}"
        ]
