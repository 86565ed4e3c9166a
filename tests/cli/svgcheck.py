"""Reads a chart SVG written by the command (src/cli/report_chart.c) with
Python's XML parser: exits 1 when it is not well-formed XML, else prints
one line per series line (a path stroked 2 wide): its colour as 6 hex
digits, then its points "x,y" in order.  cairo's SVG surface writes each
stroke as <path style="...stroke:rgb(R%,G%,B%)..." d="M x y L x y ...">.

  python3 svgcheck.py FILE.svg"""
import re
import sys
import xml.dom.minidom


def series(path):
    doc = xml.dom.minidom.parse(path)  # raises on ill-formed XML
    if doc.documentElement.tagName != "svg":
        raise ValueError("root is not <svg>")
    out = []
    for p in doc.getElementsByTagName("path"):
        style = p.getAttribute("style")
        if "stroke-width:2;" not in style:
            continue
        m = re.search(r"stroke:rgb\(([\d.]+)%,([\d.]+)%,([\d.]+)%\)", style)
        if not m:
            continue
        col = "".join(f"{round(float(v) * 2.55):02x}" for v in m.groups())
        tok = p.getAttribute("d").split()
        pts = []
        i = 0
        while i < len(tok):
            if tok[i] in ("M", "L"):
                pts.append((float(tok[i + 1]), float(tok[i + 2])))
                i += 3
            else:
                raise ValueError(f"unexpected path command {tok[i]!r}")
        out.append((col, pts))
    return out


def main():
    try:
        lines = series(sys.argv[1])
    except Exception as e:  # noqa: BLE001 - any failure to read is a test failure
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    for col, pts in lines:
        print(col, " ".join(f"{x:.4f},{y:.4f}" for x, y in pts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
