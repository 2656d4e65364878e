import numpy as np
import pytest

from isacopt.models import channels as ch
from isacopt.models import geometry as g


def test_path_gain_values():
    assert ch.path_gain(1.0, -30.0, 3.0) == pytest.approx(1e-3)
    assert ch.path_gain(10.0, -30.0, 3.0) == pytest.approx(1e-6)
    assert ch.round_trip_gain(10.0, 20.0, -30.0) == pytest.approx(1e-6 / 100 / 400)


def test_rayleigh_statistics_and_reproducibility():
    gain = np.array([1.0, 4.0])
    h = ch.rayleigh(np.random.default_rng(3), np.broadcast_to(gain, (20000, 2)), 8)
    assert h.shape == (20000, 2, 8)
    power = np.mean(np.abs(h) ** 2, axis=(0, 2))
    assert power == pytest.approx(gain, rel=0.02)                       # 160k samples: ~0.3% standard error
    assert abs(np.mean(h.real * h.imag)) < 0.02                         # circular
    again = ch.rayleigh(np.random.default_rng(3), np.broadcast_to(gain, (20000, 2)), 8)
    assert np.array_equal(h, again)


def test_line_of_sight_matches_steering():
    theta = np.array([0.2, -0.5])
    h = ch.line_of_sight(np.array([2.0, 3.0]), theta, 6, rng=np.random.default_rng(0))
    a = g.ula_steering(6, theta)
    # |h^H w| = sqrt(gain) |a^T w| for any w
    w = np.arange(6) + 1j
    assert np.allclose(np.abs(h.conj() @ w), np.sqrt([2.0, 3.0]) * np.abs(a @ w))


def test_annulus_points(rng):
    pts = ch.uniform_in_annulus(rng, (5.0, 5.0), 2.0, 3.0, 500)
    r = np.linalg.norm(pts - 5.0, axis=1)
    assert r.min() >= 2.0 and r.max() <= 3.0
