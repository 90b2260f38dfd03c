"""Physics of a multi-zone cure oven: heat balance per zone, zone PI loops, N2 purge and O2.

A pure model: `step(params, state, inputs, dt)` returns the next state and
does no I/O; `read_thermocouples` adds measurement noise from a caller-owned
seeded RNG. Every number is a default in `OvenParams`, *illustrative* in the
sense of DOMAIN.md: plausible for a batch cure oven for 300 mm wafers, not
measured on a real tool.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

AIR_O2_PPM = 209_000.0  # O2 in dry air: 20.9 % by volume


@dataclass(frozen=True, slots=True)
class OvenParams:
    """Everything that makes this oven this oven (all per zone unless said otherwise)."""

    zones: int = 4
    ambient_c: float = 25.0
    # Heat balance. C·dT/dt = P_heater − G_loss·(T − T_amb) + Σ G_couple·(T_n − T).
    # C/G_loss = 500 s: the chamber cools passively at ≥ 3 °C/min (the ramp-rate
    # limit, DOMAIN.md) down to ~50 °C, so cool-down ramps to the unload
    # temperature track without a chiller.
    thermal_mass_j_per_k: float = 15_000.0  # wall share + shelves + wafer load
    heater_max_w: float = 15_000.0  # holds 450 °C (12.75 kW loss) with ramp headroom
    loss_w_per_k: float = 30.0  # insulation + exhaust to ambient
    coupling_w_per_k: float = 10.0  # recirculating air between neighbouring zones
    door_loss_w_per_k: float = 40.0  # extra loss per zone while the door is open
    noise_c: float = 0.1  # thermocouple reading noise, uniform ±noise_c
    # Zone loop: PI on the error plus model feedforward (hold + ramp power).
    # Closed-loop time constant C/(Kp + G_loss) ≈ 10 s.
    kp_w_per_k: float = 1_500.0
    ti_s: float = 100.0
    # Over-temperature limit (an independent limit controller): trips when a
    # zone exceeds the program's highest target by this margin, or the absolute limit.
    overtemp_margin_c: float = 15.0
    overtemp_absolute_c: float = 470.0
    # Atmosphere, a well-mixed chamber: V·dO2/dt = Q_air·O2_air − (Q_n2 + Q_air)·O2.
    chamber_volume_l: float = 200.0
    leak_lpm: float = 0.001  # seal leak + back-diffusion with purge on: a few ppm at 50 L/min
    backflow_lpm: float = 20.0  # air drawn back through the exhaust when the purge stops
    seal_flow_lpm: float = 10.0  # purge flow that fully suppresses the backflow
    door_exchange_lpm: float = 1_000.0  # air exchange through an open door
    mfc_time_constant_s: float = 2.0  # N2 mass-flow controller response
    n2_setpoint_lpm: float = 50.0  # purge setpoint at power-up (standby under N2)


@dataclass(frozen=True, slots=True)
class OvenInputs:
    """What drives the plant during one step (zone indices are 0-based)."""

    setpoint_c: float | None  # None: zone loops off, heaters at 0 %
    setpoint_rate_c_per_s: float = 0.0  # for the ramp feedforward
    n2_setpoint_lpm: float = 0.0
    door_open: bool = False
    n2_supply_ok: bool = True
    failed_heaters: frozenset[int] = frozenset()  # heater gives 0 W whatever the output
    open_tcs: frozenset[int] = frozenset()  # loop sees sensor break: output 0 %
    control_offset_c: Mapping[int, float] = field(default_factory=dict)  # zone → °C


@dataclass(frozen=True, slots=True)
class OvenState:
    """The true state of the chamber (what a perfect instrument would read)."""

    zone_c: tuple[float, ...]
    integral_w: tuple[float, ...]  # PI integrator per zone
    heater_pct: tuple[float, ...]  # loop output per zone, 0..100 %
    o2_ppm: float
    n2_flow_lpm: float


def initial_state(params: OvenParams) -> OvenState:
    """A cold oven standing by under purge: ambient zones, O2 at its purged steady state."""
    n = params.zones
    return OvenState(
        zone_c=(params.ambient_c,) * n,
        integral_w=(0.0,) * n,
        heater_pct=(0.0,) * n,
        o2_ppm=o2_steady_state(params, params.n2_setpoint_lpm, door_open=False),
        n2_flow_lpm=params.n2_setpoint_lpm,
    )


def air_inflow_lpm(params: OvenParams, n2_flow_lpm: float, *, door_open: bool) -> float:
    """Air entering the chamber: seal leak, exhaust backflow when the purge is weak, the door."""
    shortfall = max(0.0, 1.0 - n2_flow_lpm / params.seal_flow_lpm)
    air = params.leak_lpm + params.backflow_lpm * shortfall
    if door_open:
        air += params.door_exchange_lpm
    return air


def o2_steady_state(params: OvenParams, n2_flow_lpm: float, *, door_open: bool) -> float:
    """O2 the chamber settles at: air's O2 diluted by the purge, Q_air/(Q_air + Q_n2)."""
    air = air_inflow_lpm(params, n2_flow_lpm, door_open=door_open)
    return AIR_O2_PPM * air / (air + n2_flow_lpm)


def step(params: OvenParams, state: OvenState, inputs: OvenInputs, dt: float) -> OvenState:
    """Advance the oven by `dt` seconds (keep dt ≤ 1 s: the heat balance is explicit Euler)."""
    heater_pct, integral = _zone_loops(params, state, inputs, dt)
    zone_c = _heat_balance(params, state.zone_c, heater_pct, inputs, dt)
    n2_flow, o2 = _atmosphere(params, state, inputs, dt)
    return replace(
        state,
        zone_c=zone_c,
        integral_w=integral,
        heater_pct=heater_pct,
        o2_ppm=o2,
        n2_flow_lpm=n2_flow,
    )


def _zone_loops(
    params: OvenParams, state: OvenState, inputs: OvenInputs, dt: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """One scan of each zone's PI + feedforward loop; returns (output %, integrator W)."""
    n = params.zones
    if inputs.setpoint_c is None:
        return (0.0,) * n, (0.0,) * n
    ki = params.kp_w_per_k / params.ti_s
    outputs: list[float] = []
    integrals: list[float] = []
    for z in range(n):
        if z in inputs.open_tcs:
            # Sensor break: the loop cannot see its zone, so it fails safe at 0 %.
            outputs.append(0.0)
            integrals.append(0.0)
            continue
        # An overshoot fault is a wrong offset in the zone's loop: it controls
        # to setpoint + offset, so the zone sits ~offset above the program.
        sp = inputs.setpoint_c + inputs.control_offset_c.get(z, 0.0)
        error = sp - state.zone_c[z]
        # Feedforward from the loop's own plant model: the power that holds sp
        # against the losses plus the power that moves the thermal mass at the ramp rate.
        ff = params.loss_w_per_k * (sp - params.ambient_c)
        ff += params.thermal_mass_j_per_k * inputs.setpoint_rate_c_per_s
        integral = state.integral_w[z]
        demand = ff + params.kp_w_per_k * error + integral
        # Anti-windup: integrate only while the output is not pinned in the error's direction.
        pinned_high = demand >= params.heater_max_w and error > 0
        pinned_low = demand <= 0.0 and error < 0
        if not (pinned_high or pinned_low):
            integral += ki * error * dt
        demand = ff + params.kp_w_per_k * error + integral
        outputs.append(100.0 * min(max(demand / params.heater_max_w, 0.0), 1.0))
        integrals.append(integral)
    return tuple(outputs), tuple(integrals)


def _heat_balance(
    params: OvenParams,
    zone_c: tuple[float, ...],
    heater_pct: tuple[float, ...],
    inputs: OvenInputs,
    dt: float,
) -> tuple[float, ...]:
    """C·dT/dt = heater − loss to ambient (more with the door open) + coupling to neighbours."""
    n = params.zones
    loss = params.loss_w_per_k + (params.door_loss_w_per_k if inputs.door_open else 0.0)
    out: list[float] = []
    for z in range(n):
        t = zone_c[z]
        power = 0.0 if z in inputs.failed_heaters else heater_pct[z] / 100.0 * params.heater_max_w
        power -= loss * (t - params.ambient_c)
        for nb in (z - 1, z + 1):
            if 0 <= nb < n:
                power += params.coupling_w_per_k * (zone_c[nb] - t)
        out.append(t + power * dt / params.thermal_mass_j_per_k)
    return tuple(out)


def _atmosphere(
    params: OvenParams, state: OvenState, inputs: OvenInputs, dt: float
) -> tuple[float, float]:
    """N2 flow (first-order MFC) and O2 of a well-mixed chamber, both updated exactly over dt.

    With flows constant over the step the O2 balance is linear, so
    O2(t+dt) = O2_ss + (O2 − O2_ss)·exp(−(Q_n2 + Q_air)·dt/V), stable for any dt.
    """
    target = inputs.n2_setpoint_lpm if inputs.n2_supply_ok else 0.0
    decay = math.exp(-dt / params.mfc_time_constant_s)
    flow = target + (state.n2_flow_lpm - target) * decay
    air = air_inflow_lpm(params, flow, door_open=inputs.door_open)
    total_lps = (air + flow) / 60.0
    o2_ss = AIR_O2_PPM * air / (air + flow)
    o2 = o2_ss + (state.o2_ppm - o2_ss) * math.exp(-total_lps * dt / params.chamber_volume_l)
    return flow, o2


def read_thermocouples(
    params: OvenParams, state: OvenState, open_tcs: frozenset[int], rng: random.Random
) -> tuple[float, ...]:
    """What the zone thermocouples report: truth + uniform noise; NaN for an open TC."""
    return tuple(
        math.nan if z in open_tcs else t + rng.uniform(-params.noise_c, params.noise_c)
        for z, t in enumerate(state.zone_c)
    )
