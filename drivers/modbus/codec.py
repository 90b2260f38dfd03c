"""Register codecs: 32-bit values in two 16-bit registers, high word first (ABCD)."""

from __future__ import annotations

import struct


def encode_float32(value: float) -> list[int]:
    """float32 → [high word, low word]."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


def decode_float32(words: list[int], offset: int = 0) -> float:
    """[high word, low word] at `offset` → float (NaN survives)."""
    return float(struct.unpack(">f", struct.pack(">HH", words[offset], words[offset + 1]))[0])


def encode_uint32(value: int) -> list[int]:
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"uint32 out of range: {value}")
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def decode_uint32(words: list[int], offset: int = 0) -> int:
    return (words[offset] << 16) | words[offset + 1]


def decode_int16(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word
