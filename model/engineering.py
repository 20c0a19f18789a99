"""Feature engineering shared by training and serving: numpy only, no scikit-learn.

The worker imports this module, not :mod:`model.features`: importing scikit-learn costs
about 140 MB of memory and 1-3 s of start-up, and serving with the ONNX export never
needs it. :mod:`model.features` re-exports everything here and adds the Pipeline step.

The AI4I 2020 failure modes are physical rules over a few derived quantities
(temperature difference, mechanical power, wear x torque against a per-type
limit), so the model gets those quantities directly, plus signed margins to the
documented limits, instead of approximating products and differences with
axis-aligned tree splits; and 0/1 flags for the documented failure conditions.

    raw = raw_matrix(readings)     # (n, 6) float64 in RAW_COLUMNS order
    features = engineer(raw)       # (n, len(FEATURE_NAMES))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from contract import Reading

__all__ = [
    "FEATURE_NAMES",
    "HEAT_LIMIT_K",
    "HEAT_LIMIT_RPM",
    "OVERSTRAIN_LIMITS",
    "POWER_BAND_W",
    "RAW_COLUMNS",
    "RPM_PER_KELVIN",
    "TYPE_CODES",
    "engineer",
    "raw_matrix",
]

TYPE_CODES: dict[str, int] = {"L": 0, "M": 1, "H": 2}
RAW_COLUMNS: tuple[str, ...] = (
    "type_code",
    "air_temp_k",
    "process_temp_k",
    "rotational_speed_rpm",
    "torque_nm",
    "tool_wear_min",
)
# Overstrain limit (min x Nm) per type code L, M, H, from the dataset's documentation.
OVERSTRAIN_LIMITS = np.array([11_000.0, 12_000.0, 13_000.0])
_RPM_TO_RAD_S = 2.0 * math.pi / 60.0
# Heat dissipation fails below 8.6 K of process-air difference AND below 1380 rpm;
# power fails outside 3500..9000 W (dataset documentation).
HEAT_LIMIT_K = 8.6
HEAT_LIMIT_RPM = 1380.0
RPM_PER_KELVIN = 100.0  # weighs the two heat-margin terms against each other
POWER_BAND_W = (3500.0, 9000.0)

FEATURE_NAMES: tuple[str, ...] = (
    "air_temp_k",
    "process_temp_k",
    "rotational_speed_rpm",
    "torque_nm",
    "tool_wear_min",
    "temp_diff_k",
    "power_w",
    "wear_torque",
    "overstrain_ratio",
    "heat_margin",
    "power_margin_w",
    "heat_rule",
    "power_rule",
    "overstrain_rule",
    "type_L",
    "type_M",
    "type_H",
)


def raw_matrix(readings: Sequence[Reading]) -> np.ndarray:
    """Readings as a float64 (n, 6) matrix in RAW_COLUMNS order."""
    rows = [
        (
            TYPE_CODES[r.type],
            r.air_temp_k,
            r.process_temp_k,
            r.rotational_speed_rpm,
            r.torque_nm,
            r.tool_wear_min,
        )
        for r in readings
    ]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(RAW_COLUMNS))


def engineer(raw: np.ndarray) -> np.ndarray:
    """Engineered features (FEATURE_NAMES order) of a raw (n, 6) matrix."""
    raw = _checked(raw)
    codes = raw[:, 0].astype(np.intp)
    air, process, rpm, torque, wear = raw[:, 1], raw[:, 2], raw[:, 3], raw[:, 4], raw[:, 5]
    temp_diff = process - air
    power = torque * rpm * _RPM_TO_RAD_S
    wear_torque = wear * torque
    limit = OVERSTRAIN_LIMITS[codes]
    columns = (
        air,
        process,
        rpm,
        torque,
        wear,
        temp_diff,
        power,
        wear_torque,
        wear_torque / limit,
        # Margins are negative exactly inside a failure region, so one split finds it.
        np.maximum(temp_diff - HEAT_LIMIT_K, (rpm - HEAT_LIMIT_RPM) / RPM_PER_KELVIN),
        np.minimum(power - POWER_BAND_W[0], POWER_BAND_W[1] - power),
        # The documented conditions themselves, compared in float64 like the data's labels
        # (trees see float32 and ignore gaps below 1e-7, so they cannot find e.g. 8.6 K
        # ties from the margins alone).
        (temp_diff < HEAT_LIMIT_K) & (rpm < HEAT_LIMIT_RPM),
        (power < POWER_BAND_W[0]) | (power > POWER_BAND_W[1]),
        wear_torque > limit,
        codes == 0,
        codes == 1,
        codes == 2,
    )
    return np.column_stack(columns).astype(np.float64, copy=False)


def _checked(raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] != len(RAW_COLUMNS):
        raise ValueError(f"raw features must have shape (n, {len(RAW_COLUMNS)}), got {raw.shape}")
    codes = raw[:, 0]
    if raw.shape[0] and not np.isin(codes, (0.0, 1.0, 2.0)).all():
        raise ValueError("type_code must be 0 (L), 1 (M) or 2 (H)")
    return raw
