"""Fault specs and the fault set of the cure-oven simulator."""

from __future__ import annotations

import pytest

from drivers.cure_oven import registers as reg
from simulators.errors import SimConfigError
from simulators.oven.faults import Fault, FaultKind, FaultSet, FaultSpecError, parse_fault


class TestParseFault:
    @pytest.mark.parametrize(
        ("spec", "fault"),
        [
            ("heater_failure:zone=2", Fault(FaultKind.HEATER_FAILURE, zone=2)),
            ("heater_failure:zone=2,at=600", Fault(FaultKind.HEATER_FAILURE, zone=2, at_s=600)),
            ("tc_open:zone=1", Fault(FaultKind.TC_OPEN, zone=1)),
            ("overshoot:zone=3,delta=8", Fault(FaultKind.OVERSHOOT, zone=3, delta_c=8.0)),
            ("door_open", Fault(FaultKind.DOOR_OPEN)),
            (" n2_loss:at=120 ", Fault(FaultKind.N2_LOSS, at_s=120)),
        ],
    )
    def test_valid_specs(self, spec: str, fault: Fault) -> None:
        """Each documented spec parses to its fault, and str() gives a spec that parses back."""
        assert parse_fault(spec) == fault
        assert parse_fault(str(fault)) == fault

    @pytest.mark.parametrize(
        ("spec", "says"),
        [
            ("heater_fail:zone=1", "unknown fault 'heater_fail'"),
            ("heater_failure", "zone= is required"),
            ("heater_failure:zone=5", "zone must be an integer 1..4"),
            ("heater_failure:zone=x", "zone must be an integer"),
            ("overshoot:zone=1", "delta= is required"),
            ("overshoot:zone=1,delta=-2", "delta must be"),
            ("door_open:zone=1", "door_open takes at; got 'zone'"),
            ("n2_loss:at=-5", "at must be a program time"),
            ("tc_open:zone", "expected key=value"),
            ("tc_open:zone=1,zone=2", "zone given twice"),
        ],
    )
    def test_bad_specs_name_the_spec_and_the_problem(self, spec: str, says: str) -> None:
        """A bad spec raises FaultSpecError (a SimConfigError) quoting the spec and the reason."""
        with pytest.raises(SimConfigError) as info:
            parse_fault(spec, zones=4)
        assert isinstance(info.value, FaultSpecError)
        assert repr(spec) in str(info.value)
        assert says in str(info.value)


class TestFaultSet:
    def test_scheduled_fault_fires_at_its_program_time(self) -> None:
        """A fault with at= stays armed until the running program's time reaches it."""
        faults = FaultSet(4, [parse_fault("heater_failure:zone=2,at=600")])
        assert faults.update(None) == []
        assert faults.update(599.0) == []
        assert faults.effects().failed_heaters == frozenset()
        assert faults.update(600.0) == [parse_fault("heater_failure:zone=2,at=600")]
        assert faults.effects().failed_heaters == frozenset({1})
        assert faults.update(601.0) == []  # fires once

    def test_effects_raise_alarm_bits_and_masks(self) -> None:
        """Each active fault sets its registers.py alarm bit and zone mask bit."""
        faults = FaultSet(4)
        for spec in ("heater_failure:zone=1", "tc_open:zone=3", "door_open", "n2_loss"):
            faults.add(parse_fault(spec))
        fx = faults.effects()
        assert fx.alarm_bits == (
            reg.ALARM_HEATER_FAILURE | reg.ALARM_TC_OPEN | reg.ALARM_DOOR_OPEN | reg.ALARM_N2_LOW
        )
        assert (fx.heater_fault_mask, fx.tc_open_mask) == (0b0001, 0b0100)
        assert fx.door_open
        assert fx.n2_loss

    def test_clear_by_kind_and_zone(self) -> None:
        """clear(kind, zone) removes only the matching faults; clear() removes all."""
        faults = FaultSet(4)
        for spec in ("tc_open:zone=1", "tc_open:zone=2", "door_open"):
            faults.add(parse_fault(spec))
        assert faults.clear("tc_open", zone=2) == [parse_fault("tc_open:zone=2")]
        assert faults.effects().open_tcs == frozenset({0})
        faults.clear()
        assert faults.effects().alarm_bits == 0
        with pytest.raises(FaultSpecError, match="unknown fault kind"):
            faults.clear("bogus")

    def test_zone_beyond_the_oven_is_refused(self) -> None:
        """A Fault object for a zone the oven does not have is refused when added."""
        with pytest.raises(FaultSpecError, match=r"zone must be 1\.\.2"):
            FaultSet(2, [Fault(FaultKind.TC_OPEN, zone=3)])
