"""Positions, distances, angles and uniform-linear-array (ULA) steering vectors with their derivatives.

Conventions (shared by every paper module):
- positions are 2-D, in metres, arrays of shape (..., 2);
- an array's angle ``theta`` is measured from its broadside, in radians; the array axis is perpendicular to the
  broadside azimuth, so a point at azimuth ``phi`` seen from an array with broadside azimuth ``b`` has
  ``theta = wrap(phi - b)`` and ``sin(theta)`` is the phase-progression variable;
- the ULA response is ``a(theta)[n] = exp(j 2 pi d n sin(theta))``, ``n = 0..N-1``, ``d`` the element spacing in
  wavelengths (eq. (5)-(6) of the detection paper, and the same form in every seed), so ``||a||^2 = N``.
"""
import numpy as np


def distance(a, b):
    """Euclidean distance between positions a (..., 2) and b (..., 2), broadcast; metres."""
    return np.linalg.norm(np.asarray(a, float) - np.asarray(b, float), axis=-1)


def azimuth(origin, point):
    """Azimuth (rad, in (-pi, pi]) of ``point`` seen from ``origin``; shapes (..., 2), broadcast."""
    d = np.asarray(point, float) - np.asarray(origin, float)
    return np.arctan2(d[..., 1], d[..., 0])


def wrap_angle(x):
    """Wrap angles to (-pi, pi]."""
    return -((-np.asarray(x, float) + np.pi) % (2.0 * np.pi) - np.pi)


def angle_from_broadside(array_pos, point, broadside):
    """Angle theta (rad) of ``point`` w.r.t. an array at ``array_pos`` whose broadside points at azimuth ``broadside``."""
    return wrap_angle(azimuth(array_pos, point) - np.asarray(broadside, float))


def angle_gradient(array_pos, point):
    """d theta / d(point) for theta = azimuth(array_pos, point) - const: shape (..., 2), units rad/m."""
    d = np.asarray(point, float) - np.asarray(array_pos, float)
    r2 = np.sum(d**2, axis=-1, keepdims=True)
    return np.concatenate([-d[..., 1:2], d[..., 0:1]], axis=-1) / r2


def distance_gradient(array_pos, point):
    """d ||point - array_pos|| / d(point): the unit vector from the array to the point, shape (..., 2)."""
    d = np.asarray(point, float) - np.asarray(array_pos, float)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def ula_steering(num_antennas: int, theta, spacing: float = 0.5):
    """ULA steering vectors a(theta): theta (...,) rad -> (..., N) complex, ||a||^2 = N."""
    n = np.arange(num_antennas)
    return np.exp(2j * np.pi * spacing * np.sin(np.asarray(theta, float))[..., None] * n)


def ula_steering_derivative(num_antennas: int, theta, spacing: float = 0.5):
    """d a(theta) / d theta: theta (...,) -> (..., N) complex."""
    theta = np.asarray(theta, float)
    n = np.arange(num_antennas)
    phase = 2j * np.pi * spacing * n * np.cos(theta)[..., None]
    return phase * ula_steering(num_antennas, theta, spacing)


def transmit_pattern(R, theta, spacing: float = 0.5):
    """Transmit beampattern a^T(theta) R a^*(theta) (the power radiated towards theta): R (..., N, N) covariances,
    theta (G,) rad -> (..., G); with R = P I / N it is P at every angle."""
    a = ula_steering(np.shape(R)[-1], theta, spacing)                                 # (G, N)
    return np.real(np.einsum("gi,...ij,gj->...g", a, R, a.conj()))


def facing(array_pos, target):
    """Broadside azimuth (rad) that points arrays at ``array_pos`` (..., 2) towards ``target`` (2,)."""
    return azimuth(array_pos, target)


def square_grid(center, side: float, count: int):
    """``count`` (a perfect square) points on a uniform grid covering a square of side ``side`` (edges included).

    Returns (count, 2). A single point is the centre.
    """
    n = int(round(np.sqrt(count)))
    if n * n != count:
        raise ValueError(f"count={count} is not a perfect square")
    ticks = np.linspace(-side / 2.0, side / 2.0, n) if n > 1 else np.zeros(1)
    gx, gy = np.meshgrid(ticks, ticks, indexing="xy")
    return np.stack([gx.ravel(), gy.ravel()], axis=-1) + np.asarray(center, float)
