"""Physics of a molding press: two heated platens, clamp and transfer hydraulics, the EMC charge.

A pure model: `step(params, state, inputs, dt)` returns the next state and
does no I/O; `read_instruments` adds measurement noise from a caller-owned
seeded RNG. The cycle sequencer (plant.py) decides the inputs of each stage.
Numbers are *illustrative* in the sense of DOMAIN.md ("Molding press (MUF)"):
plausible for a 300 mm wafer-level compression press, not measured on one.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass, field, replace

from drivers.molding_press import nodes
from simulators.physics import emc

TOP, BOTTOM = 0, 1
SIDES = {"top": TOP, "bottom": BOTTOM}


class RamCommand(enum.Enum):
    """What the transfer ram's valve is told to do."""

    HOLD = "hold"
    ADVANCE = "advance"  # fill: move toward the stroke limit, speed ∝ transfer pressure
    RETRACT = "retract"  # back to 0 mm at the retract speed


@dataclass(frozen=True, slots=True)
class PressParams:
    """Everything that makes this press this press (per platen unless said otherwise)."""

    ambient_c: float = 25.0
    # The press is kept hot between jobs (a mold is never let cool on a
    # production line): with no job loaded the platens hold `standby_c`, and
    # the simulator powers up at it.
    standby_c: float = 175.0
    # Platen heat balance, C·dT/dt = P_heater − G_loss·(T − T_amb) + G_couple·(T_other − T).
    # C/G_loss = 1000 s: a platen whose heater fails cools at ≈ 9 °C/min from 175 °C.
    # Heating from cold takes ≈ 10 min (15 kW against 6 kW of loss at 175 °C).
    thermal_mass_j_per_k: float = 40_000.0  # platen + mold chase half
    heater_max_w: float = 15_000.0
    loss_w_per_k: float = 40.0
    coupling_closed_w_per_k: float = 60.0  # chase halves in contact (clamp, fill, cure)
    coupling_open_w_per_k: float = 5.0  # through the frame and the air gap
    # Platen loop: PI on the error plus feedforward of the hold power;
    # closed-loop time constant C/(Kp + G_loss) ≈ 20 s.
    kp_w_per_k: float = 2_000.0
    ti_s: float = 100.0
    # Hydraulics, first-order responses (s).
    clamp_time_constant_s: float = 0.5
    pressure_time_constant_s: float = 0.2
    # Ram: at full transfer pressure it completes the stroke in this share of
    # FillTime, then packs; pressure loss slows it in proportion.
    fill_stroke_share: float = 0.7
    retract_time_s: float = 3.0  # full stroke back to 0 mm
    # The EMC charge: it enters the cavity at room temperature when fill
    # starts and follows the mean platen temperature with a first-order lag.
    charge_c: float = 25.0
    emc_time_constant_s: float = 3.0
    emc: emc.EmcParams = field(default_factory=emc.EmcParams)
    # Instrument noise, uniform ±: thermocouples, load cells, pressure transducer.
    noise_c: float = 0.1
    noise_kn: float = 0.5
    noise_mpa: float = 0.01


@dataclass(frozen=True, slots=True)
class PressInputs:
    """What drives the press during one step."""

    setpoint_c: float  # both platens (top = bottom, DOMAIN.md)
    failed_heaters: frozenset[int] = frozenset()  # TOP / BOTTOM: heater gives 0 W
    mold_closed: bool = False  # chase halves in contact (couples the platens)
    clamp_kn: float = 0.0  # clamp force the hydraulics build toward
    pressure_mpa: float = 0.0  # transfer pressure commanded (the job's set-point or 0)
    pressure_available: float = 1.0  # share of the commanded pressure delivered (pressure loss)
    ram: RamCommand = RamCommand.RETRACT
    ram_speed_mm_per_s: float = 0.0  # ADVANCE speed at full commanded pressure
    ram_limit_mm: float = nodes.FULL_STROKE_MM  # where the ram stops (short fill: earlier)
    emc_in_cavity: bool = False  # the charge is in the hot mold: it heats and cures


@dataclass(frozen=True, slots=True)
class PressState:
    """The true state of the press (what a perfect instrument would read)."""

    platen_c: tuple[float, float]  # (top, bottom)
    integral_w: tuple[float, float]  # PI integrator per platen
    heater_pct: tuple[float, float]  # loop output, 0..100 %
    clamp_kn: float
    pressure_mpa: float
    ram_mm: float
    emc_c: float  # temperature of the charge in the cavity
    alpha: float  # its degree of cure (0..1)

    @property
    def mean_platen_c(self) -> float:
        return 0.5 * (self.platen_c[TOP] + self.platen_c[BOTTOM])


def initial_state(params: PressParams) -> PressState:
    """A press standing by: platens at standby temperature, mold open, ram retracted."""
    t = params.standby_c
    hold_pct = 100.0 * params.loss_w_per_k * (t - params.ambient_c) / params.heater_max_w
    return PressState(
        platen_c=(t, t),
        integral_w=(0.0, 0.0),
        heater_pct=(hold_pct, hold_pct),  # feedforward alone holds it: integrators at 0
        clamp_kn=0.0,
        pressure_mpa=0.0,
        ram_mm=0.0,
        emc_c=params.charge_c,
        alpha=0.0,
    )


def charge(params: PressParams, state: PressState) -> PressState:
    """A fresh EMC charge enters the cavity (fill starts): room temperature, uncured."""
    return replace(state, emc_c=params.charge_c, alpha=0.0)


def step(params: PressParams, state: PressState, inputs: PressInputs, dt: float) -> PressState:
    """Advance the press by `dt` seconds (keep dt ≤ 0.1 s: the heat balance is explicit Euler
    and the hydraulics' time constants are 0.2–0.5 s)."""
    heater_pct, integral = _platen_loops(params, state, inputs, dt)
    platen_c = _heat_balance(params, state.platen_c, heater_pct, inputs, dt)
    clamp = _first_order(state.clamp_kn, inputs.clamp_kn, params.clamp_time_constant_s, dt)
    delivered = inputs.pressure_mpa * inputs.pressure_available
    pressure = _first_order(state.pressure_mpa, delivered, params.pressure_time_constant_s, dt)
    ram = _ram(params, state.ram_mm, pressure, inputs, dt)
    emc_c, alpha = state.emc_c, state.alpha
    if inputs.emc_in_cavity:
        # The charge follows the mean platen temperature with lag τ (exact over dt),
        # and cures at the mean of its temperatures over the step.
        mean = 0.5 * (state.platen_c[TOP] + state.platen_c[BOTTOM])
        emc_next = _first_order(emc_c, mean, params.emc_time_constant_s, dt)
        alpha = emc.step(params.emc, alpha, 0.5 * (emc_c + emc_next), dt)
        emc_c = emc_next
    return PressState(
        platen_c=platen_c,
        integral_w=integral,
        heater_pct=heater_pct,
        clamp_kn=clamp,
        pressure_mpa=pressure,
        ram_mm=ram,
        emc_c=emc_c,
        alpha=alpha,
    )


def _first_order(value: float, target: float, tau_s: float, dt: float) -> float:
    """Exact first-order response over dt (stable for any dt)."""
    return target + (value - target) * math.exp(-dt / tau_s)


def _platen_loops(
    params: PressParams, state: PressState, inputs: PressInputs, dt: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """One scan of each platen's PI + feedforward loop; returns (output %, integrator W).

    The loop runs on its own thermocouple even when the heater has failed (it
    does not know): its output pins at 100 % and anti-windup stops the integrator.
    """
    ki = params.kp_w_per_k / params.ti_s
    sp = inputs.setpoint_c
    ff = params.loss_w_per_k * (sp - params.ambient_c)
    outputs: list[float] = []
    integrals: list[float] = []
    for side in (TOP, BOTTOM):
        error = sp - state.platen_c[side]
        integral = state.integral_w[side]
        demand = ff + params.kp_w_per_k * error + integral
        pinned_high = demand >= params.heater_max_w and error > 0
        pinned_low = demand <= 0.0 and error < 0
        if not (pinned_high or pinned_low):
            integral += ki * error * dt
        demand = ff + params.kp_w_per_k * error + integral
        outputs.append(100.0 * min(max(demand / params.heater_max_w, 0.0), 1.0))
        integrals.append(integral)
    return (outputs[TOP], outputs[BOTTOM]), (integrals[TOP], integrals[BOTTOM])


def _heat_balance(
    params: PressParams,
    platen_c: tuple[float, float],
    heater_pct: tuple[float, float],
    inputs: PressInputs,
    dt: float,
) -> tuple[float, float]:
    """C·dT/dt = heater − loss to ambient + coupling to the other platen (more when closed)."""
    couple = params.coupling_closed_w_per_k if inputs.mold_closed else params.coupling_open_w_per_k
    out: list[float] = []
    for side in (TOP, BOTTOM):
        t = platen_c[side]
        other = platen_c[1 - side]
        heater_w = heater_pct[side] / 100 * params.heater_max_w
        power = 0.0 if side in inputs.failed_heaters else heater_w
        power += -params.loss_w_per_k * (t - params.ambient_c) + couple * (other - t)
        out.append(t + power * dt / params.thermal_mass_j_per_k)
    return out[TOP], out[BOTTOM]


def _ram(
    params: PressParams, ram_mm: float, pressure_mpa: float, inputs: PressInputs, dt: float
) -> float:
    """Ram position. ADVANCE: speed ∝ the delivered share of the commanded pressure (the
    EMC flows as fast as the pressure pushes it) up to the limit; RETRACT: fixed speed."""
    if inputs.ram is RamCommand.ADVANCE:
        share = 1.0
        if inputs.pressure_mpa > 0:
            share = min(max(pressure_mpa / inputs.pressure_mpa, 0.0), 1.0)
        limit = min(inputs.ram_limit_mm, nodes.FULL_STROKE_MM)
        if ram_mm >= limit:
            return ram_mm
        return min(ram_mm + inputs.ram_speed_mm_per_s * share * dt, limit)
    if inputs.ram is RamCommand.RETRACT:
        speed = nodes.FULL_STROKE_MM / params.retract_time_s
        return max(ram_mm - speed * dt, 0.0)
    return ram_mm


@dataclass(frozen=True, slots=True)
class Instruments:
    """What the press's sensors report: truth + noise (the ram's encoder is exact)."""

    platen_top_c: float
    platen_bottom_c: float
    clamp_kn: float
    pressure_mpa: float
    ram_mm: float


def read_instruments(params: PressParams, state: PressState, rng: random.Random) -> Instruments:
    """Sensor readings; force and pressure never read below 0 (the transducers' range)."""
    noise_mpa = params.noise_mpa
    return Instruments(
        platen_top_c=state.platen_c[TOP] + rng.uniform(-params.noise_c, params.noise_c),
        platen_bottom_c=state.platen_c[BOTTOM] + rng.uniform(-params.noise_c, params.noise_c),
        clamp_kn=max(0.0, state.clamp_kn + rng.uniform(-params.noise_kn, params.noise_kn)),
        pressure_mpa=max(0.0, state.pressure_mpa + rng.uniform(-noise_mpa, noise_mpa)),
        ram_mm=state.ram_mm,
    )
