"""Large-scale path loss and small-scale channel draws. All randomness comes from an explicit
``numpy.random.Generator``; nothing here touches a global RNG.

Channel vectors follow the convention of the seeds: the signal received from an N-antenna transmitter with
beamformer w is ``h^H w``, so a line-of-sight channel towards angle theta is ``h = sqrt(gain) * conj(a(theta))``
(up to a common phase) and ``|h^H w| = sqrt(gain) |a(theta)^T w|``.
"""
import numpy as np

from .geometry import ula_steering
from .units import db_to_linear


def path_gain(distance_m, ref_gain_db: float, exponent: float, ref_distance_m: float = 1.0):
    """Power gain of a one-way link: kappa * (d / d0)^(-nu), kappa = 10^(ref_gain_db / 10) (ref_gain_db <= 0)."""
    return db_to_linear(ref_gain_db) * (np.asarray(distance_m, float) / ref_distance_m) ** (-float(exponent))


def round_trip_gain(d_tx_m, d_rx_m, ref_gain_db: float, ref_distance_m: float = 1.0):
    """Two-hop (transmitter -> target -> receiver) power gain kappa^2 d_ref^4 / (d_tx^2 d_rx^2) (detection paper, Sec. II)."""
    return path_gain(d_tx_m, ref_gain_db, 2.0, ref_distance_m) * path_gain(d_rx_m, ref_gain_db, 2.0, ref_distance_m)


def complex_gaussian(rng: np.random.Generator, shape, variance=1.0):
    """i.i.d. CN(0, variance) samples of the given shape; ``variance`` broadcasts against it."""
    z = rng.standard_normal((*np.atleast_1d(shape).tolist(), 2))
    return np.sqrt(np.asarray(variance, float) / 2.0) * (z[..., 0] + 1j * z[..., 1])


def rayleigh(rng: np.random.Generator, gain, num_antennas: int):
    """Rayleigh-fading MISO channels: gain (...,) -> (..., N) complex with E|h_n|^2 = gain."""
    gain = np.asarray(gain, float)
    return complex_gaussian(rng, (*gain.shape, num_antennas), gain[..., None])


def line_of_sight(gain, theta, num_antennas: int, spacing: float = 0.5, rng: np.random.Generator | None = None):
    """LoS MISO channels h = sqrt(gain) e^{j phi} conj(a(theta)); gain, theta (...,) -> (..., N) complex.

    With ``rng`` the common phase phi is uniform on [0, 2 pi); without, phi = 0.
    """
    gain = np.asarray(gain, float)
    h = np.sqrt(gain)[..., None] * np.conj(ula_steering(num_antennas, theta, spacing))
    if rng is not None:
        h = h * np.exp(2j * np.pi * rng.random(gain.shape))[..., None]
    return h


def cell_user_channels(rng: np.random.Generator, bs, users, broadside, scenario) -> np.ndarray:
    """(M, M, K, N) channels from every BS i to CU k of cell m (``users`` (M, K, 2)): path gain
    ``user_path_gain_db`` / ``user_path_loss_exponent``, then Rayleigh fading or line of sight with a random phase
    (``channel_model``), ULAs with broadsides ``broadside`` (rad) and ``antenna_spacing_wavelengths``."""
    from .geometry import angle_from_broadside, distance
    s = scenario
    d = distance(bs[:, None, None], users[None])
    gain = path_gain(d, s.user_path_gain_db, s.user_path_loss_exponent)
    if s.channel_model == "rayleigh":
        return rayleigh(rng, gain, s.tx_antennas)
    theta_u = angle_from_broadside(bs[:, None, None], users[None], broadside[:, None, None])
    return line_of_sight(gain, theta_u, s.tx_antennas, s.antenna_spacing_wavelengths, rng)


def uniform_in_annulus(rng: np.random.Generator, center, r_min: float, r_max: float, count: int):
    """``count`` points uniform (by area) in the annulus r_min <= r <= r_max around ``center``: (count, 2)."""
    r = np.sqrt(rng.uniform(r_min**2, r_max**2, count))
    phi = rng.uniform(0.0, 2.0 * np.pi, count)
    return np.asarray(center, float) + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1)


def coordinated_sinr(h: np.ndarray, w: np.ndarray, noise_w: float, sensing: np.ndarray | None = None) -> np.ndarray:
    """SINR (L, K) of every CU in multi-cell coordinated beamforming.

    h: (L, L, K, N) complex, h[l, m, k] the channel from BS l to CU k of cell m (received signal h^H x_l);
    w: (L, K, N) complex beamformers, w[l, k] serving CU k of cell l; ``sensing``: optional (L, N, N) covariances
    of dedicated sensing signals, counted as interference (detection paper's Type-I receivers (3)); without it, the
    SINR of (4) in the detection paper and (6) in the localization paper.
    """
    gains = np.abs(np.einsum("lmkn,lin->mkli", h.conj(), w)) ** 2       # |h_{l,m,k}^H w_{l,i}|^2
    L, K = w.shape[:2]
    desired = np.einsum("mkmk->mk", gains.reshape(L, K, L, K))
    interference = gains.sum(axis=(2, 3)) - desired
    if sensing is not None:
        interference = interference + np.real(np.einsum("lmkn,lnp,lmkp->mk", h.conj(), sensing, h))
    return desired / (interference + noise_w)
