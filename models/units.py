"""Unit conversions. Scenario files carry units in field names; conversion happens once, on load."""
import numpy as np


def db_to_linear(db):
    """Power ratio in dB -> linear."""
    return 10.0 ** (np.asarray(db, dtype=float) / 10.0)


def linear_to_db(x):
    """Linear power ratio -> dB (``-inf`` for 0)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(x, dtype=float))


def dbm_to_watt(dbm):
    """Power in dBm -> W."""
    return 10.0 ** ((np.asarray(dbm, dtype=float) - 30.0) / 10.0)


def watt_to_dbm(w):
    """Power in W -> dBm (``-inf`` for 0)."""
    return linear_to_db(w) + 30.0
