"""A minimal TensorBoard event-file writer for scalars (both frameworks use it).

Writing the format directly (TFRecord framing around hand-encoded Event protos) keeps
the torch child free of TensorFlow and needs no `tensorboard` package on the worker;
TensorBoard reads the result like any other run.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

_CRC_TABLE: list[int] = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _event(wall_time: float, step: int, *, file_version: str | None = None, summary: bytes | None = None) -> bytes:
    out = _field(1, 1) + struct.pack("<d", wall_time) + _field(2, 0) + _varint(step)
    if file_version is not None:
        out += _length_delimited(3, file_version.encode())
    if summary is not None:
        out += _length_delimited(5, summary)
    return out


def _scalar_summary(values: dict[str, float]) -> bytes:
    out = b""
    for tag, value in values.items():
        entry = _length_delimited(1, tag.encode()) + _field(2, 5) + struct.pack("<f", float(value))
        out += _length_delimited(1, entry)
    return out


class ScalarWriter:
    """Appends scalar events to one events.out.tfevents file in log_dir."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        now = time.time()
        self.path = log_dir / f"events.out.tfevents.{int(now)}.{socket.gethostname()}"
        self._write(_event(now, 0, file_version="brain.Event:2"))

    def _write(self, record: bytes) -> None:
        header = struct.pack("<Q", len(record))
        with open(self.path, "ab") as fh:
            fh.write(header + struct.pack("<I", _masked(header)) + record + struct.pack("<I", _masked(record)))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        finite = {k: v for k, v in values.items() if isinstance(v, int | float)}
        if finite:
            self._write(_event(time.time(), step, summary=_scalar_summary(finite)))
