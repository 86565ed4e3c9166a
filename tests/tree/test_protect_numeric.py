"""Protective devices under varying current, against SciPy numerical integration.

The library steps each device with the RMS current held constant over a
step; SciPy integrates the same characteristic in continuous time,
written here independently from the standards' equations:

  * IEEE C37.112 integral form: the relay operates when the integral of
    dt / t(M(t)) reaches 1, t(M) = TD (A / (M^p - 1) + B); with the
    dependent reset dI/dt = -1 / (TD tr / (1 - M^2)) below pickup;
  * the L element's thermal image: dtheta/dt = ((I/Ir)^2 - theta) / tau, trip
    at theta = k^2, tau = tr / ln(36 / (36 - k^2));
  * a fuse's melting integral: integral of dt / t_melt(I(t)), t_melt
    interpolated log-log in the time-current table.

The library is reached through ctypes next to the headroom binary (HR_BIN).
Exit code 77 (skipped) when it cannot be loaded, e.g. in sanitizer builds.
"""

import ctypes
import math
import os
import subprocess
import sys

import numpy as np
from scipy import integrate, optimize

SKIP = 77


def find_library():
    binary = os.environ.get("HR_BIN")
    if not binary:
        return None
    path = os.path.join(os.path.dirname(binary), "libheadroom.so")
    if not os.path.exists(path):
        return None
    # A sanitizer-instrumented library aborts the interpreter that loads it;
    # probe in a child first.
    probe = subprocess.run([sys.executable, "-c", f"import ctypes; ctypes.CDLL({path!r})"],
                           capture_output=True, timeout=60)
    return path if probe.returncode == 0 else None


class Status(ctypes.Structure):
    _fields_ = [("tripped", ctypes.c_int), ("element", ctypes.c_int),
                ("n_trips", ctypes.c_uint), ("t_s", ctypes.c_double),
                ("t_trip_s", ctypes.c_double), ("thermal", ctypes.c_double),
                ("elem", ctypes.c_double * 8)]


class Lib:
    def __init__(self, path):
        lib = ctypes.CDLL(path)
        lib.hr_device_cfg_size.restype = ctypes.c_size_t
        lib.hr_tree_device_parse.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p,
                                             ctypes.c_void_p]
        lib.hr_diag_format.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.hr_device_create.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.hr_device_destroy.argtypes = [ctypes.c_void_p]
        lib.hr_device_step.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double]
        lib.hr_device_tripped.argtypes = [ctypes.c_void_p]
        lib.hr_device_status.argtypes = [ctypes.c_void_p, ctypes.POINTER(Status)]
        self.lib = lib

    def device(self, text):
        cfg = ctypes.create_string_buffer(self.lib.hr_device_cfg_size())
        err = ctypes.create_string_buffer(4096)
        raw = text.encode()
        rc = self.lib.hr_tree_device_parse(raw, len(raw), cfg, err)
        if rc != 0:
            text = ctypes.create_string_buffer(1024)
            self.lib.hr_diag_format(err, text, len(text))
            raise AssertionError(text.value.decode())
        dev = ctypes.c_void_p()
        assert self.lib.hr_device_create(cfg, ctypes.byref(dev)) == 0
        return dev

    def trip_time(self, dev, current, dt, t_max):
        """Steps dev with the midpoint current of each step; interpolated trip time."""
        st = Status()
        n = int(t_max / dt) + 1
        for k in range(n):
            if self.lib.hr_device_step(dev, current((k + 0.5) * dt), dt) != 0:
                raise RuntimeError("step failed")
            if self.lib.hr_device_tripped(dev):
                self.lib.hr_device_status(dev, ctypes.byref(st))
                self.lib.hr_device_destroy(dev)
                return st.t_trip_s
        self.lib.hr_device_destroy(dev)
        return math.inf


def check(name, got, want, rel):
    err = abs(got - want) / want
    print(f"{name}: library {got:.6f} s, SciPy {want:.6f} s, rel err {err:.2e} (limit {rel:g})")
    return err <= rel


# IEEE C37.112 / IEC 60255-151 constants: A, p, B, tr.
CURVES = {
    "ieee_vi": (19.61, 2.0, 0.491, 21.6),
    "ieee_mi": (0.0515, 0.02, 0.1140, 4.85),
    "iec_ei": (80.0, 2.0, 0.0, 58.2),
}


def relay_operate(curve, td, m):
    a, p, b, _ = CURVES[curve]
    return td * (a / (m ** p - 1.0) + b)


def relay_integral_case(lib, curve, td):
    """Operate time under M(t) = 3 + 1.5 sin(2 pi t / 1.7), always above pickup."""
    i_s = 100.0

    def m_of(t):
        return 3.0 + 1.5 * math.sin(2.0 * math.pi * t / 1.7)

    def travel(t_end):
        val, _ = integrate.quad(lambda t: 1.0 / relay_operate(curve, td, m_of(t)), 0.0, t_end,
                                limit=500, epsabs=1e-13, epsrel=1e-12)
        return val - 1.0

    want = optimize.brentq(travel, 1e-6, 200.0, xtol=1e-12)
    dev = lib.device(f"{{type: relay, curve: {curve}, is_a: {i_s}, tms: {td}}}")
    got = lib.trip_time(dev, lambda t: i_s * m_of(t), 1e-4, 2.0 * want)
    return check(f"relay {curve} TD {td}, varying M", got, want, 1e-6)


def relay_reset_case(lib):
    """M(t) = 1.3 + 1.0 sin(2 pi t / 4): operate above 1.1, hold in 1..1.1, dependent reset below 1."""
    curve, td, i_s = "ieee_vi", 1.0, 100.0
    _, _, _, tr = CURVES[curve]

    def m_of(t):
        return 1.3 + 1.0 * math.sin(2.0 * math.pi * t / 4.0)

    def rhs(t, y):
        m = m_of(t)
        if m >= 1.1:
            return [1.0 / relay_operate(curve, td, m)]
        if m < 1.0 and y[0] > 0.0:
            return [-(1.0 - m * m) / (td * tr)]
        return [0.0]

    def done(t, y):
        return y[0] - 1.0

    done.terminal = True
    sol = integrate.solve_ivp(rhs, (0.0, 400.0), [0.0], events=done, max_step=1e-3, rtol=1e-10,
                              atol=1e-12)
    want = sol.t_events[0][0]
    dev = lib.device(f"{{type: relay, curve: {curve}, is_a: {i_s}, tms: {td}}}")
    got = lib.trip_time(dev, lambda t: i_s * m_of(t), 1e-4, 2.0 * want)
    return check("relay ieee_vi with dependent reset, M swinging through pickup", got, want, 1e-5)


def thermal_case(lib):
    """L element, tr 8 s, k 1.1: 300 s at 0.9 Ir, then I = Ir (1.4 + 0.6 sin(2 pi t / 45))."""
    ir, tr, k = 1000.0, 8.0, 1.1
    tau = tr / math.log(36.0 / (36.0 - k * k))

    def i_of(t):
        if t < 300.0:
            return 0.9 * ir
        return ir * (1.4 + 0.6 * math.sin(2.0 * math.pi * (t - 300.0) / 45.0))

    def rhs(t, y):
        return [((i_of(t) / ir) ** 2 - y[0]) / tau]

    def done(t, y):
        return y[0] - k * k

    done.terminal = True
    sol = integrate.solve_ivp(rhs, (0.0, 5000.0), [0.0], events=done, max_step=0.05, rtol=1e-11,
                              atol=1e-12)
    want = sol.t_events[0][0]
    dev = lib.device(f"{{type: trip_unit, curve: LI, in_a: {ir}, tr_s: {tr}, l_pickup: {k}, "
                     f"ii: 12}}")
    got = lib.trip_time(dev, i_of, 2e-3, 2.0 * want)
    return check("trip unit L thermal image, preload then varying overload", got, want, 1e-7)


def fuse_case(lib):
    """Melting integral with I(t) = 600 + 350 sin(2 pi t / 0.8) A."""
    table_i = np.array([135.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 4000.0])
    table_t = np.array([3600.0, 300.0, 40.0, 6.0, 0.8, 0.12, 0.02])

    def t_melt(i):
        return float(np.exp(np.interp(np.log(i), np.log(table_i), np.log(table_t))))

    def i_of(t):
        return 600.0 + 350.0 * math.sin(2.0 * math.pi * t / 0.8)

    def kinks(t_end):
        """Instants where I(t) crosses a table current (the integrand's kinks)."""
        grid = np.linspace(0.0, t_end, 4001)
        out = []
        for c in table_i:
            f = np.array([i_of(t) - c for t in grid])
            for j in np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]:
                out.append(optimize.brentq(lambda t: i_of(t) - c, grid[j], grid[j + 1],
                                           xtol=1e-14))
        return sorted(out)

    def used(t_end):
        val, _ = integrate.quad(lambda t: 1.0 / t_melt(i_of(t)), 0.0, t_end, limit=4000,
                                points=kinks(t_end) or None, epsabs=1e-13, epsrel=1e-12)
        return val - 1.0

    want = optimize.brentq(used, 1e-6, 100.0, xtol=1e-12)
    pts = ", ".join(f"[{a:g}, {b:g}]" for a, b in zip(table_i, table_t))
    dev = lib.device(f"{{type: fuse, in_a: 100, melt: [{pts}]}}")
    got = lib.trip_time(dev, i_of, 1e-4, 2.0 * want)
    return check("fuse melting integral, varying current", got, want, 1e-6)


def main():
    path = find_library()
    if path is None:
        print("libheadroom.so not loadable here (HR_BIN unset or sanitizer build): skipped")
        return SKIP
    lib = Lib(path)
    results = [
        relay_integral_case(lib, "ieee_vi", 1.0),
        relay_integral_case(lib, "ieee_mi", 2.0),
        relay_integral_case(lib, "iec_ei", 0.2),
        relay_reset_case(lib),
        thermal_case(lib),
        fuse_case(lib),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
