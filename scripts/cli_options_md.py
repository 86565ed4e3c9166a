#!/usr/bin/env python3
"""Prints the option reference of docs/cli.md from the command's own option
tables (each subcommand's --help, which cli_help() generates from them).

    python3 scripts/cli_options_md.py build/headroom > /tmp/ref.md

Paste the output between the "options:begin" and "options:end" markers of
docs/cli.md (or run with --write to replace it there).  tests/cli/
test_cli_docs.py fails when an option of a table is missing from docs/cli.md."""
import os
import re
import subprocess
import sys


def run(hr, *args):
    p = subprocess.run([hr, *args], capture_output=True, text=True)
    return p.returncode, p.stdout


def commands(hr, path=()):
    """Every leaf command path: ("meter",), ("plan", "site"), ..."""
    rc, out = run(hr, *path, "--list-commands")
    if rc != 0:
        return [path]
    leaves = []
    for name in out.split():
        leaves += commands(hr, path + (name,))
    return leaves


def options(help_text):
    """(left column, meaning) for each option line of a --help text."""
    rows, cur = [], None
    opts = help_text.split("\noptions:\n", 1)[1] if "\noptions:\n" in help_text else ""
    for line in opts.splitlines():
        if not line.strip():
            break
        m = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if m and line.startswith("  -"):
            cur = [m.group(1).strip(), (m.group(2) or "").strip()]
            rows.append(cur)
        elif line.startswith("   ") and cur is not None:
            cur[1] = (cur[1] + " " + line.strip()).strip()
        elif not line.startswith(" "):
            rows.append(None)  # a section heading
            cur = None
    return [r for r in rows if r]


def reference(hr):
    out = []
    for path in commands(hr):
        if not path:
            continue
        _, text = run(hr, *path, "--help")
        out.append(f"### `headroom {' '.join(path)}`\n")
        out.append("| option | meaning |\n|---|---|")
        for left, meaning in options(text):
            left = left.replace("|", "\\|")
            meaning = meaning.replace("|", "\\|")
            out.append(f"| `{left}` | {meaning} |")
        out.append("")
    return "\n".join(out)


def main():
    hr = sys.argv[1] if len(sys.argv) > 1 else "build/headroom"
    ref = reference(hr)
    if "--write" in sys.argv:
        doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "cli.md")
        with open(doc) as f:
            text = f.read()
        a, b = "<!-- options:begin -->\n", "<!-- options:end -->"
        i, j = text.index(a) + len(a), text.index(b)
        with open(doc, "w") as f:
            f.write(text[:i] + ref + "\n" + text[j:])
    else:
        print(ref)


if __name__ == "__main__":
    main()
