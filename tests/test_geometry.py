import numpy as np
import pytest

from isacopt.models import geometry as g


def test_steering_norm_and_broadside(rng):
    theta = rng.uniform(-np.pi / 2, np.pi / 2, 7)
    a = g.ula_steering(16, theta)
    assert a.shape == (7, 16)
    assert np.allclose(np.sum(np.abs(a) ** 2, axis=-1), 16)
    assert np.allclose(g.ula_steering(5, 0.0), 1.0)            # broadside: all phases equal


def test_steering_derivative_finite_difference(rng):
    theta, eps = rng.uniform(-1.2, 1.2, 5), 1e-6
    fd = (g.ula_steering(12, theta + eps, 0.4) - g.ula_steering(12, theta - eps, 0.4)) / (2 * eps)
    assert np.allclose(g.ula_steering_derivative(12, theta, 0.4), fd, atol=1e-6)


def test_angle_and_distance_gradients_finite_difference(rng):
    bs, p, eps = rng.uniform(-50, 50, 2), rng.uniform(-50, 50, 2), 1e-6
    for k in range(2):
        e = np.zeros(2)
        e[k] = eps
        d_theta = (g.angle_from_broadside(bs, p + e, 0.3) - g.angle_from_broadside(bs, p - e, 0.3)) / (2 * eps)
        d_dist = (g.distance(bs, p + e) - g.distance(bs, p - e)) / (2 * eps)
        assert g.angle_gradient(bs, p)[k] == pytest.approx(d_theta, rel=1e-6)
        assert g.distance_gradient(bs, p)[k] == pytest.approx(d_dist, rel=1e-6)


def test_angles_wrap_and_facing():
    bs = np.array([[80.0, 0.0], [-40.0, 40 * np.sqrt(3)]])
    broadside = g.facing(bs, np.zeros(2))
    assert np.allclose(g.angle_from_broadside(bs, np.zeros(2), broadside), 0.0)   # arrays face the origin
    assert g.wrap_angle(3 * np.pi / 2) == pytest.approx(-np.pi / 2)


def test_square_grid():
    pts = g.square_grid((1.0, -1.0), 2.0, 9)
    assert pts.shape == (9, 2)
    assert np.allclose(pts.mean(axis=0), (1.0, -1.0)) and np.isclose(np.ptp(pts[:, 0]), 2.0)
    assert np.allclose(g.square_grid((0, 0), 2.0, 1), 0.0)
    with pytest.raises(ValueError):
        g.square_grid((0, 0), 1.0, 8)


def test_transmit_pattern_is_isotropic_for_white_covariance_and_averages_to_the_power(rng):
    """a^T R a^*: P at every angle for R = P I / N; for any R its mean over a uniform grid in u = sin(theta) (half-
    wavelength spacing, more points than antennas) is exactly tr(R), the radiated power."""
    N, G = 8, 64
    np.testing.assert_allclose(g.transmit_pattern(2.0 * np.eye(N) / N, np.linspace(-1.5, 1.5, 7)), 2.0)
    X = rng.standard_normal((N, 3)) + 1j * rng.standard_normal((N, 3))
    R = X @ X.conj().T
    u = -1.0 + (np.arange(G) + 0.5) * 2.0 / G
    pattern = g.transmit_pattern(R, np.arcsin(u))
    assert pattern.min() >= -1e-12
    assert pattern.mean() == pytest.approx(np.trace(R).real, rel=1e-12)
