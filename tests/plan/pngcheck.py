"""A small PNG reader for the tests (struct + zlib only, no imaging
library): checks the signature and every chunk's CRC, inflates IDAT and
undoes the five row filters.  Reads 8-bit RGB / RGBA / grey, non-interlaced,
which is what libpng writes for the study charts."""
import struct
import zlib

SIG = b"\x89PNG\r\n\x1a\n"


def read(path):
    """Returns (width, height, rows) with rows[y] a bytes of width * 3 RGB."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != SIG:
        raise ValueError("not a PNG signature")
    pos, idat, hdr, seen_end = 8, b"", None, False
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            seen_end = True
            break
        pos += 12 + n
    if hdr is None or not seen_end:
        raise ValueError("IHDR or IEND missing")
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 6):
        raise ValueError(f"unsupported PNG type {hdr}")
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        raise ValueError("IDAT size does not match the header")
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif ft != 0:
                raise ValueError(f"bad filter type {ft}")
        prev = line
        if bpp == 3:
            rows.append(bytes(line))
        else:
            rows.append(bytes(v for x in range(w) for v in
                              ((line[x * bpp],) * 3 if bpp == 1 else line[x * 4:x * 4 + 3])))
    return w, h, rows


def pixels_of(rows, rgb, x0, x1, y0, y1):
    """(x, y) of every pixel equal to rgb in [x0, x1) x [y0, y1)."""
    want = bytes(rgb)
    return [(x, y) for y in range(y0, y1) for x in range(x0, x1)
            if rows[y][3 * x:3 * x + 3] == want]
