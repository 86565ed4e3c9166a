"""The studies' report writers under output faults: `headroom plan site`,
`provision` and `oversub --out-dir DIR` (src/cli/cmd_plan.c, docs/plan.md)
pointed at a full disk and at a folder where nothing can be created.

Disk full: for every file a study writes, a fresh output folder holds that
name as a symbolic link to /dev/full (writes fail with ENOSPC, as on a full
disk).  Read-only: the output folder is made unwritable (chmod 0555); when
that does not stop writes (root, as in CI), /proc/self stands in, an existing
folder where no file can be created even by root.  Each run must
  * exit non-zero,
  * say on stderr which file failed (its name) and why (the system's
    message, e.g. "No space left on device"),
  * not leave a report.md that looks complete (its closing paragraph
    written) behind.

The model is trained on a tiny synthetic trace set, and the workload is a
short Poisson run, so the test needs no shared data.  Every check is
strict (the writers in src/cli/cmd_plan.c check each open, write, flush
and close).  Skips (77) without the binary or /dev/full."""
import errno
import math
import os
import stat
import subprocess
import sys
import tempfile

SKIP = 77

# Files each study writes into --out-dir, and the closing words of its
# report.md (present only when the report was written to the end).
STUDIES = {
    "site": (["site_1s.csv", "site_15min.csv", "ldc_15min.csv", "rows_1s.csv", "site.png",
              "site.svg", "ldc.png", "ldc.svg", "report.md"],
             "the charts as PNG and as SVG"),
    "provision": (["provision.csv", "report.md", "provision.png", "provision.svg"],
                  "`provision.svg` is the chart as SVG."),
    "oversub": (["oversub.csv", "report.md", "oversub.png", "oversub.svg"],
                "`oversub.svg` is the chart as SVG."),
}

def write_data(d):
    """A trace set of two runs and a LUT, as `plan train --data` reads them."""
    tr = os.path.join(d, "power", "h100-inference", "traces")
    os.makedirs(tr)
    with open(os.path.join(d, "power", "h100-inference", "traces_summary.csv"), "w") as f:
        f.write("model_label,num_gpus,max_num_seqs,trace_file\n"
                "m,4,8,traces/a.csv\nm,4,64,traces/b.csv\n")
    for name, level in (("a", 1500.0), ("b", 2500.0)):
        with open(os.path.join(tr, name + ".csv"), "w") as f:
            f.write("relative_time_s,power_total_W\n")
            for i in range(600):
                f.write(f"{0.1 * i:.1f},{level + 200 * math.sin(0.05 * i) + (i * 37) % 50:.2f}\n")
    lut = os.path.join(d, "power", "splitwise-lut")
    os.makedirs(lut)
    with open(os.path.join(lut, "perf_model.csv"), "w") as f:
        f.write("model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,"
                "prompt_time,token_time,e2e_time,tensor_parallel\n")
        for b, r in ((1, 0.5), (8, 0.7), (64, 0.9)):
            f.write(f"llama2-70b,a100-80gb,512,{b},128,1.0,{r},1,1,1,8\n")


def study(hr, mode, model, out_dir):
    args = [hr, "plan", mode, "--model-file", model, "--model", "m", "--arrival", "poisson",
            "--rate", "1", "--hours", "0.3", "--rows", "1", "--racks", "3", "--servers", "2",
            "--out-dir", out_dir]
    if mode == "oversub":
        args += ["--samples", "20"]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def unwritable_dir(base):
    """A folder where creating a file fails, and how it was made."""
    d = os.path.join(base, "ro")
    os.mkdir(d)
    os.chmod(d, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH |
             stat.S_IXOTH)
    probe = os.path.join(d, "probe")
    try:
        with open(probe, "w"):
            pass
        os.unlink(probe)
    except OSError:
        return d, "chmod 0555"
    os.chmod(d, 0o755)
    print("note: chmod 0555 does not stop writes here (running as root); using /proc/self, "
          "a folder where no file can be created")
    return "/proc/self", "/proc/self"


def main():
    hr = os.environ.get("HR_BIN")
    if not hr or not os.path.exists(hr):
        print("skip: HR_BIN missing")
        return SKIP
    if not os.path.exists("/dev/full"):
        print("skip: no /dev/full on this system")
        return SKIP
    failures = []
    reasons = [os.strerror(e) for e in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.ENOENT,
                                        errno.EPERM, errno.EIO)]

    def check(cond, mode, what, detail):
        if not cond:
            failures.append(f"{mode}: {what}: {detail}")

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        write_data(data)
        model = os.path.join(tmp, "m.model")
        p = subprocess.run([hr, "plan", "train", "--data", data, "--out", model, "--bigru-epochs", "2"],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            print(f"FAIL: training the test model: {p.stderr}")
            return 1

        for mode, (files, closing) in STUDIES.items():
            # The study works and writes every file when nothing fails.
            good = os.path.join(tmp, f"{mode}-ok")
            p = study(hr, mode, model, good)
            if p.returncode != 0:
                failures.append(f"{mode}: fails without a fault: {p.stderr.strip()}")
                continue
            missing = [f for f in files if not os.path.exists(os.path.join(good, f))]
            if missing:
                failures.append(f"{mode}: files not written without a fault: {missing}")
            with open(os.path.join(good, "report.md")) as f:
                if closing not in f.read():
                    failures.append(f"{mode}: report.md lacks its closing words {closing!r}")

            # Disk full, one file at a time.
            for name in files:
                out = os.path.join(tmp, f"{mode}-full-{files.index(name)}")
                os.mkdir(out)
                os.symlink("/dev/full", os.path.join(out, name))
                p = study(hr, mode, model, out)
                what = f"{name} on a full disk"
                check(p.returncode != 0, mode, "exits non-zero", f"{what}: exit 0")
                if p.returncode == 0:
                    continue
                check(name in p.stderr, mode, "names the file",
                      f"{what}: stderr {p.stderr.strip()!r}")
                check(any(r in p.stderr for r in reasons), mode, "says why",
                      f"{what}: stderr {p.stderr.strip()!r}")
                rep = os.path.join(out, "report.md")
                if os.path.isfile(rep) and not os.path.islink(rep):
                    with open(rep) as f:
                        check(closing not in f.read(), mode, "no complete report",
                              f"{what}: report.md ends with its closing paragraph")

            # A folder where nothing can be created.
            base = os.path.join(tmp, f"{mode}-ro-base")
            os.mkdir(base)
            ro, how = unwritable_dir(base)
            p = study(hr, mode, model, ro)
            what = f"an unwritable folder ({how})"
            check(p.returncode != 0, mode, "exits non-zero", f"{what}: exit 0")
            if p.returncode != 0:
                check(any(f in p.stderr for f in files) or ro in p.stderr, mode, "names the file",
                      f"{what}: stderr {p.stderr.strip()!r}")
                check(any(r in p.stderr for r in reasons), mode, "says why",
                      f"{what}: stderr {p.stderr.strip()!r}")
            if ro != "/proc/self":
                os.chmod(ro, 0o755)

    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
