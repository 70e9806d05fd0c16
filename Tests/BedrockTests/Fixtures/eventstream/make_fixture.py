#!/usr/bin/env python3
"""Writes every_header_type.bin: two messages hand-encoded with struct + zlib (independent of contenox),
the first carrying one header of each of the ten types. Checked by botocore's decoder before writing."""
import struct
import zlib

from botocore.eventstream import EventStreamBuffer


def header(name, type_byte, value=b""):
    raw = name.encode()
    return bytes([len(raw)]) + raw + bytes([type_byte]) + value


def message(headers, payload):
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


first = b"".join([
    header("t", 0), header("f", 1), header("i8", 2, struct.pack(">b", -5)),
    header("i16", 3, struct.pack(">h", -300)), header("i32", 4, struct.pack(">i", 70000)),
    header("i64", 5, struct.pack(">q", -(2**40))), header("bytes", 6, struct.pack(">H", 3) + b"\x00\x01\xff"),
    header(":event-type", 7, struct.pack(">H", 17) + b"contentBlockDelta"),
    header("ts", 8, struct.pack(">q", 1700000000123)), header("id", 9, bytes(range(16))),
])
second = header(":message-type", 7, struct.pack(">H", 5) + b"event")
stream = message(first, b'{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abc"}') + message(second, b"")
buffer = EventStreamBuffer()
buffer.add_data(stream)
assert len(list(buffer)) == 2
open("every_header_type.bin", "wb").write(stream)
