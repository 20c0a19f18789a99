"""The AI4I 2020 synthetic milling process as a pure, seeded stream of samples.

Matzka (AI4I 2020) describes how the dataset was generated; :class:`Simulator` follows it:

- air temperature: a random walk around 300 K with a standard deviation of 2 K;
- process temperature: air temperature + 10 K + a random walk with a standard deviation of 1 K;
- torque: normal around 40 Nm with a standard deviation of 10 Nm, never negative;
- rotational speed: follows the process power, overlaid with normal noise;
- tool wear: each product adds 5/3/2 min (H/M/L); the tool is replaced at a wear drawn
  between 200 and 240 min, and at that moment fails (TWF) in 51 of 120 cases, as in the paper;
- the other failures follow from the values (:func:`physical_modes`), plus 0.1 % at random (RNF).

Two departures, both needed for an endless stream:

- a random walk drifts without bound and the paper normalises its finished series; a stream
  cannot, so both temperatures are mean-reverting AR(1) walks whose stationary spread is the
  paper's 2 K and 1 K, remembering about 1000 and 330 readings;
- taken literally, speed = 2860 W / torque gives ~680 rpm at 40 Nm, far from the published
  rows (mean 1538 rpm), so speed uses the relation fitted on them,
  rpm = 5857 * torque^-0.3675 + N(0, 56.5 rpm), which reproduces their speed and power spread.

Values are rounded like the dataset (0.1 K, whole rpm, 0.1 Nm, whole minutes) before the rules
are applied, so a sample's flags agree with its published numbers. No I/O, no clock: all
randomness comes from the numpy Generator passed in, so a seed fixes the whole stream.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from publisher.sample import Sample, describe_modes

__all__ = ["MACHINE_TYPES", "OSF_LIMIT_MIN_NM", "Simulator", "physical_modes", "power_w"]

MACHINE_TYPES = ("L", "M", "H")
TYPE_SHARES = (0.6, 0.3, 0.1)  # the published product mix, used when no type is fixed

AIR_MEAN_K, AIR_SD_K, AIR_MEMORY = 300.0, 2.0, 0.999
PROCESS_OFFSET_K, PROCESS_SD_K, PROCESS_MEMORY = 10.0, 1.0, 0.997
TORQUE_MEAN_NM, TORQUE_SD_NM, TORQUE_MIN_NM = 40.0, 10.0, 3.0
SPEED_SCALE, SPEED_EXPONENT, SPEED_NOISE_RPM = 5857.0, -0.3675, 56.5

WEAR_PER_PRODUCT_MIN = {"L": 2, "M": 3, "H": 5}
TOOL_LIFE_MIN = (200, 240)
TOOL_FAILS_SHARE = 51 / 120
RANDOM_FAILURE_P = 0.001

HDF_MAX_DELTA_K, HDF_MAX_RPM = 8.6, 1380.0
PWF_RANGE_W = (3500.0, 9000.0)
OSF_LIMIT_MIN_NM = {"L": 11_000.0, "M": 12_000.0, "H": 13_000.0}


def power_w(torque_nm: float, speed_rpm: float) -> float:
    """Mechanical power: torque times angular speed."""
    return torque_nm * speed_rpm * 2 * math.pi / 60


def physical_modes(sample: Sample) -> set[str]:
    """The failure modes that follow from the values alone (HDF, PWF, OSF)."""
    modes = set()
    delta = sample.process_temp_k - sample.air_temp_k
    if delta < HDF_MAX_DELTA_K and sample.rotational_speed_rpm < HDF_MAX_RPM:
        modes.add("HDF")
    power = power_w(sample.torque_nm, sample.rotational_speed_rpm)
    if not PWF_RANGE_W[0] <= power <= PWF_RANGE_W[1]:
        modes.add("PWF")
    if sample.tool_wear_min * sample.torque_nm > OSF_LIMIT_MIN_NM[sample.type]:
        modes.add("OSF")
    return modes


class Simulator:
    """One simulated machine; each :meth:`step` machines one product and returns its sample."""

    def __init__(self, rng: np.random.Generator, machine_type: str | None = None, first_serial: int = 10_000):
        if machine_type is not None and machine_type not in MACHINE_TYPES:
            raise ValueError(f"machine type {machine_type!r} must be one of {', '.join(MACHINE_TYPES)}")
        self._rng = rng
        self._type = machine_type
        # Start from the walks' stationary spread so even a short run looks like the data.
        self._air = float(rng.normal(0.0, AIR_SD_K))
        self._process = float(rng.normal(0.0, PROCESS_SD_K))
        self._wear = 0
        self._tool_life = self._draw_tool_life()
        self._serial = first_serial

    def step(self) -> Sample:
        """Advance one product and return what the sensors report for it."""
        product_type = self._type or self._draw_type()
        air_k, process_k = self._temperatures()
        torque = self._torque()
        values = Sample(
            type=product_type,
            air_temp_k=round(air_k, 1),
            process_temp_k=round(process_k, 1),
            rotational_speed_rpm=float(round(self._speed(torque))),
            torque_nm=round(torque, 1),
            tool_wear_min=float(self._wear),
            product_id=f"{product_type}{self._serial}",
        )
        modes = physical_modes(values) | self._chance_modes(product_type)
        self._serial += 1
        failed = 1 if modes else 0
        return replace(values, failure=failed, failure_description=describe_modes(modes))

    def _chance_modes(self, product_type: str) -> set[str]:
        """TWF when the tool ends its life and fails instead of being swapped, RNF at random."""
        modes = set()
        if self._tool_ends(product_type):
            if self._rng.random() < TOOL_FAILS_SHARE:
                modes.add("TWF")
            self._wear, self._tool_life = 0, self._draw_tool_life()
        else:
            self._wear += WEAR_PER_PRODUCT_MIN[product_type]
        if self._rng.random() < RANDOM_FAILURE_P:
            modes.add("RNF")
        return modes

    def _tool_ends(self, product_type: str) -> bool:
        # Ends at its drawn life, or earlier if the next product would push it past 240 min.
        next_wear = self._wear + WEAR_PER_PRODUCT_MIN[product_type]
        return self._wear >= self._tool_life or next_wear > TOOL_LIFE_MIN[1]

    def _draw_type(self) -> str:
        draw, total = float(self._rng.random()), 0.0
        for machine_type, share in zip(MACHINE_TYPES, TYPE_SHARES, strict=True):
            total += share
            if draw < total:
                return machine_type
        return MACHINE_TYPES[-1]

    def _draw_tool_life(self) -> int:
        return int(self._rng.integers(TOOL_LIFE_MIN[0], TOOL_LIFE_MIN[1] + 1))

    def _temperatures(self) -> tuple[float, float]:
        self._air = _ar1(self._rng, self._air, AIR_MEMORY, AIR_SD_K)
        self._process = _ar1(self._rng, self._process, PROCESS_MEMORY, PROCESS_SD_K)
        air_k = AIR_MEAN_K + self._air
        return air_k, air_k + PROCESS_OFFSET_K + self._process

    def _torque(self) -> float:
        while True:  # redraw the rare value below the minimum: torque is never negative
            torque = float(self._rng.normal(TORQUE_MEAN_NM, TORQUE_SD_NM))
            if torque >= TORQUE_MIN_NM:
                return torque

    def _speed(self, torque_nm: float) -> float:
        noise = float(self._rng.normal(0.0, SPEED_NOISE_RPM))
        return max(SPEED_SCALE * math.pow(torque_nm, SPEED_EXPONENT) + noise, 0.0)


def _ar1(rng: np.random.Generator, value: float, memory: float, spread: float) -> float:
    """One step of a mean-reverting walk whose stationary standard deviation is `spread`."""
    return memory * value + float(rng.normal(0.0, spread * math.sqrt(1 - memory * memory)))
