"""Shared helpers for the measurement-engine tests.

Signals are built here with NumPy from closed-form expressions (independent of
`headroom gen`), piped through the real `headroom meter` binary, and its JSON
Lines output is compared with references computed here by NumPy/SciPy."""
import json
import os
import subprocess
import sys

import numpy as np

HR_BIN = os.environ.get("HR_BIN", os.path.join(os.path.dirname(__file__), "../../build/headroom"))

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def finish(name, n_checks):
    if FAILS:
        print(f"{name}: {len(FAILS)} of {n_checks} checks failed")
        sys.exit(1)
    print(f"{name}: {n_checks} checks passed")


class Signal:
    """A three-phase (or single-phase) signal defined in closed form.

    u(t) and i(t) are functions of time in seconds returning arrays; the
    phases are offset by -120/+120 degrees."""

    def __init__(self, fs=8000.0, f=60.0, nphase=3, u_rms=277.0, i_rms=100.0):
        self.fs, self.f, self.nphase = fs, f, nphase
        self.u_rms, self.i_rms = u_rms, i_rms
        self.u_harm = []      # (order, fraction of fundamental, phase rad)
        self.i_harm = []
        self.u_inter = []     # (freq Hz, fraction)
        self.i_phi = 0.0      # current lags voltage by i_phi (rad); negative = leading
        self.u_env = None     # optional function (t, phase index) -> amplitude factor
        self.i_env = None

    def _wave(self, t, k, rms, harm, inter, phi, env):
        ph = -2 * np.pi * k / 3
        w = 2 * np.pi * self.f
        x = np.sin(w * t + ph - phi)
        for h, a, p in harm:
            x = x + a * np.sin(h * (w * t + ph) - h * phi + p)
        for fi, a in inter:
            x = x + a * np.sin(2 * np.pi * fi * t + ph)
        x = rms * np.sqrt(2) * x
        if env is not None:
            x = x * env(t, k)
        return x

    def u(self, t, k):
        return self._wave(t, k, self.u_rms, self.u_harm, self.u_inter, 0.0, self.u_env)

    def i(self, t, k):
        return self._wave(t, k, self.i_rms, self.i_harm, [], self.i_phi, self.i_env)

    def frames(self, seconds):
        n = np.arange(int(round(seconds * self.fs)))
        t = n / self.fs
        cols = [self.u(t, k) for k in range(self.nphase)] + [self.i(t, k) for k in range(self.nphase)]
        return np.stack(cols, axis=1).astype("<f4")


def run_meter(frames, *args, check_rc=True):
    """Runs headroom meter on float32 frames; returns (records, stderr, rc)."""
    p = subprocess.run([HR_BIN, "meter", "--quiet", *args], input=frames.tobytes(),
                       capture_output=True)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"headroom meter failed ({p.returncode}): {p.stderr.decode()}")
    recs = [json.loads(line) for line in p.stdout.decode().splitlines() if line]
    return recs, p.stderr.decode(), p.returncode


def window_mean(fn, t0, t1, pts=20000):
    """Mean of fn(t) over [t0, t1) by dense Gauss-Legendre quadrature of the
    continuous signal (independent of the meter's sampling)."""
    x, w = np.polynomial.legendre.leggauss(200)
    edges = np.linspace(t0, t1, pts // 200 + 1)
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        tt = 0.5 * (b - a) * x + 0.5 * (b + a)
        total += 0.5 * (b - a) * np.sum(w * fn(tt))
    return total / (t1 - t0)
