#!/usr/bin/env python3
"""Frequency response of the harmonics stage's interpolation kernel
(src/pq/harmonics.c: sinc(d) * Kaiser(d / HW), |d| < HW), for the design in
use and the alternatives it was chosen from.

The resampler evaluates y(t) = sum_k x[k] h(t - k), so a component at f
(cycles per input sample) passes with the kernel's continuous Fourier
transform H(f), and its images at m - f (m = 1, 2, ...) with H(m - f); the
resampling to N points then folds images back onto the used bins.  Used band:
up to 0.40 fs (h50 of 60.5 Hz and the interharmonic group above it, 51 * 60.5
Hz, at 8 kHz is 0.386 fs); image band: 0.60 fs and up.  Prints, per design,
the largest |H - 1| over the used band and |H| over the image band (to 3 fs:
the kernel's response falls further beyond).

usage: python3 scripts/harm_kernel_response.py
"""
import numpy as np


def response(hw, beta, f, per_sample=256):
    d = np.arange(-hw * per_sample, hw * per_sample + 1) / per_sample
    r = d / hw
    h = np.sinc(d) * np.i0(beta * np.sqrt(np.clip(1.0 - r * r, 0.0, None))) / np.i0(beta)
    # H(f) = integral h(d) exp(-2 pi i f d) dd, by the trapezoid rule (h is 0
    # at both ends) on a grid fine enough for f up to 3 fs.
    return np.exp(-2j * np.pi * np.outer(f, d)) @ h / per_sample


def main():
    used = np.linspace(0.0, 0.40, 161)
    image = np.linspace(0.60, 3.0, 961)
    print("taps  beta  max|H-1| to 0.40 fs  max|H| from 0.60 fs")
    for taps, beta in [(48, 9.0), (32, 9.0), (32, 8.0), (24, 7.0), (24, 8.0), (16, 6.0)]:
        hw = taps // 2
        e_used = np.max(np.abs(response(hw, beta, used) - 1.0))
        e_image = np.max(np.abs(response(hw, beta, image)))
        mark = "  <- in use" if (taps, beta) == (32, 9.0) else ""
        print(f"{taps:4d}  {beta:4.1f}  {e_used:18.2e}  {e_image:19.2e}{mark}")


if __name__ == "__main__":
    main()
