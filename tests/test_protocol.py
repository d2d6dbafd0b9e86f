"""The wire format treats the worker's bytes as hostile: bounds, tags, sizes and depth are checked."""

from __future__ import annotations

import json
import os
import struct
from types import SimpleNamespace

import pytest
import torch

from autograder.sandbox.protocol import (
    MAGIC,
    PREFIX,
    ChannelClosed,
    Decoder,
    Encoder,
    Limits,
    ProtocolError,
    ReplyTimeout,
    read_message,
    write_message,
)


def roundtrip(value, claims: list | None = None, **limits):
    """``value`` encoded, sent through a pipe and decoded; ``claims`` gets what the sender said about tensors."""
    enc = Encoder()
    data = enc.encode(value)
    r, w = os.pipe()
    try:
        write_message(w, {"value": data}, enc.buffers)
        header, buffers = read_message(r, Limits(**limits))
    finally:
        os.close(r)
        os.close(w)
    decoder = Decoder(buffers)
    value = decoder.decode(header["value"])
    if claims is not None:
        claims += decoder.claims
    return value


def test_plain_values_and_tensors_roundtrip():
    x = torch.arange(12.0).reshape(3, 4)
    value = roundtrip({"a": (1, 2.5, None, True), "t": x, "l": [float("nan"), float("inf")], "s": "é"})
    assert value["a"] == (1, 2.5, None, True)
    assert torch.equal(value["t"], x) and type(value["t"]) is torch.Tensor
    assert value["l"][1] == float("inf") and value["l"][0] != value["l"][0]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.bool,
                                   torch.complex64, torch.uint8])
def test_dtypes_roundtrip(dtype):
    x = (torch.arange(6) % 2).to(dtype).reshape(2, 3)
    assert torch.equal(roundtrip(x), x)


def test_views_keep_their_strides_and_zero_size_works():
    base = torch.arange(6.0)
    expanded = base[:1].as_strided((4, 3), (0, 1))
    got = roundtrip(expanded)
    assert got.stride() == (0, 1) and torch.equal(got, expanded)
    t = torch.arange(12.0).reshape(3, 4).t()
    assert roundtrip(t).stride() == t.stride()
    empty = torch.empty(0, 5)
    assert roundtrip(empty).shape == (0, 5)


def test_subclass_is_reported_not_trusted():
    class Sub(torch.Tensor):
        pass

    claims = []
    got = roundtrip(torch.ones(2).as_subclass(Sub), claims)
    assert type(got) is torch.Tensor
    origin_of = {id(t): SimpleNamespace(**c) for t, c in claims}.get
    assert origin_of(id(got)).type_name.endswith("Sub")


def _decode_tensor(meta, buf):
    return Decoder([bytearray(buf)]).decode({"$t": dict(meta, buf=0)})


@pytest.mark.parametrize("meta", [
    {"dtype": "float32", "shape": [4], "stride": [1], "offset": 1},        # reaches past the end
    {"dtype": "float32", "shape": [2, 2], "stride": [3, 1], "offset": 0},  # extent 5 > 4 elements
    {"dtype": "float32", "shape": [2], "stride": [-1], "offset": 1},       # negative stride
    {"dtype": "object", "shape": [1], "stride": [1], "offset": 0},         # unknown dtype
    {"dtype": "float32", "shape": [1.5], "stride": [1], "offset": 0},      # non-integer size
    {"dtype": "float32", "shape": [1], "stride": [1, 1], "offset": 0},     # ndim mismatch
])
def test_out_of_bounds_or_malformed_tensors_are_refused(meta):
    with pytest.raises(ProtocolError):
        _decode_tensor(meta, struct.pack("<4f", 1, 2, 3, 4))


def test_buffer_size_must_be_a_multiple_of_itemsize():
    with pytest.raises(ProtocolError):
        _decode_tensor({"dtype": "float32", "shape": [1], "stride": [1], "offset": 0}, b"\x00" * 5)


def test_unknown_tags_deep_nesting_and_pickle_like_payloads_are_refused():
    for bad in [{"$pickle": "gASVAAAA"}, {"__reduce__": 1}, {"$tuple": "x"}, {}]:
        with pytest.raises(ProtocolError):
            Decoder([]).decode(bad)
    deep: object = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ProtocolError):
        Decoder([]).decode(deep)


def test_frames_with_bad_magic_or_oversized_declarations_are_refused():
    r, w = os.pipe()
    os.write(w, b"XXXX" + b"\x00" * 12)
    with pytest.raises(ProtocolError, match="magic"):
        read_message(r)
    os.write(w, PREFIX.pack(MAGIC, 10, 1 << 40))
    with pytest.raises(ProtocolError, match="MiB"):
        read_message(r, Limits(max_buffer_bytes=1 << 20))
    header = json.dumps({"buffers": [5]}).encode()
    os.write(w, PREFIX.pack(MAGIC, len(header), 6) + header)  # sizes disagree with the frame
    with pytest.raises(ProtocolError):
        read_message(r)
    os.close(r)
    os.close(w)


def test_timeout_and_closed_channel():
    r, w = os.pipe()
    import time

    with pytest.raises(ReplyTimeout):
        read_message(r, deadline=time.monotonic() + 0.05)
    os.close(w)
    with pytest.raises(ChannelClosed):
        read_message(r)
    os.close(r)


def test_grader_refuses_to_send_arbitrary_objects():
    with pytest.raises(ProtocolError):
        Encoder().encode(object())
