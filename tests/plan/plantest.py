"""Shared set-up of the `headroom plan` Python tests: the binary and the
shared data folder come from the environment CTest sets (HR_BIN,
HR_SHARED_DATA); a test skips (exit 77), saying why, when either is missing."""
import os

SKIP = 77


def binary_and_data(needed):
    """Returns (headroom binary, shared data folder, path of `needed` inside
    it), or None after printing why the test skips."""
    hr = os.environ.get("HR_BIN")
    data = os.environ.get("HR_SHARED_DATA")
    if not hr or not os.path.exists(hr):
        print("skip: HR_BIN missing")
        return None
    path = os.path.join(data or "", needed)
    if not data or not os.path.exists(path):
        print(f"skip: shared data folder missing (HR_SHARED_DATA, needs {needed})")
        return None
    return hr, data, path


def finish(fails):
    """Prints each failure and the verdict; returns the exit code (0 or 1)."""
    for f in fails:
        print("FAIL:", f)
    print("ok" if not fails else f"{len(fails)} failures")
    return 1 if fails else 0
