#!/usr/bin/env python3
"""Decodes an event stream with botocore's EventStreamBuffer: the oracle for contenox's encoder.

stdin: the raw stream bytes; stdout: a JSON list of {headers: {name: value}, payload (latin-1 text)}.
Headers of type bytes and UUID are hex strings; timestamps are milliseconds.
"""
import datetime
import json
import sys
import uuid

from botocore.eventstream import EventStreamBuffer


def plain(value):
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return value.bytes.hex()
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


buffer = EventStreamBuffer()
buffer.add_data(sys.stdin.buffer.read())
print(json.dumps([{"headers": {k: plain(v) for k, v in m.headers.items()},
                   "payload": m.payload.decode("latin-1")} for m in buffer]))
