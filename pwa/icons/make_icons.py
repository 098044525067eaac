"""Draws the app icons (a white house with a heart on green) as PNGs with the standard library only.

Run from this folder: `python3 make_icons.py`. Writes icon-192.png, icon-512.png (purpose "any", rounded
square) and maskable-512.png (full bleed, the drawing inside the 80 % safe zone).
The committed PNGs were then recompressed losslessly (same pixels; the app shell is counted in gzip bytes):
`pip install pyoxipng` and `oxipng.optimize(f, level=6, strip=oxipng.StripChunks.safe(),
deflate=oxipng.Deflaters.zopfli(15))` for each file — do the same after redrawing.
"""
import struct
import zlib

GREEN = (11, 93, 75)
WHITE = (255, 255, 255)
HEART = (214, 69, 80)
SUPERSAMPLE = 3


def inside_house(x, y):
    """Shape test in a unit square (0..1): roof triangle, body, door cut out; returns a colour or None."""
    if 0.22 <= y <= 0.50 and abs(x - 0.5) <= (y - 0.22) * 1.1:  # roof
        return WHITE
    if 0.48 <= y <= 0.80 and 0.28 <= x <= 0.72:  # body
        hx, hy = (x - 0.5) / 0.1, (0.62 - y) / 0.1  # heart on the body, y pointing up
        if (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy ** 3 < 0:
            return HEART
        return WHITE
    return None


def pixel(x, y, maskable):
    if maskable:
        # Scale the drawing into the safe zone (a circle of radius 0.4 around the centre).
        sx, sy = 0.5 + (x - 0.5) / 0.78, 0.5 + (y - 0.5) / 0.78
        return inside_house(sx, sy) or GREEN
    r = 0.18  # rounded square corners
    cx, cy = min(max(x, r), 1 - r), min(max(y, r), 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return None
    return inside_house(x, y) or GREEN


def render(size, maskable):
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(n):
                for sx in range(n):
                    c = pixel((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size, maskable)
                    if c:
                        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            alpha = acc[3] // (n * n)
            covered = max(1, acc[3] // 255)
            row += bytes([acc[0] // covered, acc[1] // covered, acc[2] // covered, alpha])
        rows.append(bytes(row))
    return b"".join(rows)


def png(size, raw):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("maskable-512.png", 512, True)):
        with open(name, "wb") as f:
            f.write(png(size, render(size, maskable)))
