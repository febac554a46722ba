#!/usr/bin/env python3
"""Writes the png_decoder fuzz seeds (fuzz/corpus/png_decoder/): a 9x6 PNG of every colour
type and bit depth PNG allows, each row with the next filter type (none, sub, up, average,
Paeth), random filtered bytes (any bytes are valid filtered data), and variants with tRNS,
eXIf (orientation 6), a text chunk, pHYs, and the IDAT stream split over several chunks.
Deterministic (seeded), standard library only. Usage: make_png_seeds.py OUT_DIR"""
import os
import random
import struct
import sys
import zlib

WIDTH, HEIGHT = 9, 6
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(color_type, depth, rng, trns=False, exif=False, text=False, split_idat=False):
    row_bytes = (WIDTH * CHANNELS[color_type] * depth + 7) // 8
    raw = b"".join(bytes([y % 5]) + bytes(rng.randrange(256) for _ in range(row_bytes))
                   for y in range(HEIGHT))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", WIDTH, HEIGHT, depth,
                                                            color_type, 0, 0, 0))
    if color_type == 3:
        entries = 1 << depth
        out += chunk(b"PLTE", bytes(rng.randrange(256) for _ in range(3 * entries)))
        if trns:
            out += chunk(b"tRNS", bytes(rng.randrange(256) for _ in range(entries // 2 + 1)))
    elif trns and color_type == 0:
        out += chunk(b"tRNS", struct.pack(">H", rng.randrange(1 << depth)))
    elif trns and color_type == 2:
        out += chunk(b"tRNS", struct.pack(">HHH", *(rng.randrange(1 << depth) for _ in "rgb")))
    if exif:
        # Little-endian TIFF header, one IFD entry: Orientation (0x112), SHORT, 1, value 6.
        out += chunk(b"eXIf", b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00"
                              b"\x00\x06\x00\x00\x00\x00\x00\x00\x00")
    if text:
        out += chunk(b"tEXt", b"Comment\x00a seed") + chunk(b"pHYs", struct.pack(">IIB", 2835,
                                                                                 2835, 1))
    data = zlib.compress(raw, 9)
    if split_idat:
        third = max(1, len(data) // 3)
        for i in range(0, len(data), third):
            out += chunk(b"IDAT", data[i:i + third])
    else:
        out += chunk(b"IDAT", data)
    return out + chunk(b"IEND", b"")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(14)
    for color_type, depths in DEPTHS.items():
        for depth in depths:
            name = f"type{color_type}_depth{depth}"
            with open(os.path.join(out_dir, name + ".png"), "wb") as f:
                f.write(png(color_type, depth, rng))
    variants = {"palette4_trns": (3, 4, dict(trns=True)), "gray8_trns": (0, 8, dict(trns=True)),
                "rgb16_trns": (2, 16, dict(trns=True)), "rgba8_exif_text": (6, 8, dict(
                    exif=True, text=True)), "rgb8_split_idat": (2, 8, dict(split_idat=True))}
    for name, (color_type, depth, extra) in variants.items():
        with open(os.path.join(out_dir, name + ".png"), "wb") as f:
            f.write(png(color_type, depth, rng, **extra))


if __name__ == "__main__":
    main()
