"""MessagePack, in pure Python: the Python standard library has none, and a plugin built with
componentize-py can only carry pure-Python dependencies.

Types map one to one, so a value survives a round trip through the engine unchanged: `int` (never
written as a float), `float` (always float64, as the Rust SDK writes it), `str`, `bytes`, `bool`,
`None`, `list` (also written from a `tuple`) and `dict` (key order kept).
"""

import struct

_unpack_from = struct.unpack_from
_f64 = struct.Struct(">d")


class MsgpackError(ValueError):
    """Malformed input or a value that MessagePack cannot carry."""


def packb(value):
    """Encode `value` to MessagePack bytes."""
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def _pack_len(n, out, fix, fix_max, m16, m32):
    if n <= fix_max:
        out.append(fix | n)
    elif n < 0x10000:
        out.append(m16)
        out += n.to_bytes(2, "big")
    else:
        out.append(m32)
        out += n.to_bytes(4, "big")


def _pack(v, out):
    t = type(v)
    if t is str:
        b = v.encode("utf-8")
        n = len(b)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 0x100:
            out.append(0xD9)
            out.append(n)
        elif n < 0x10000:
            out.append(0xDA)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xDB)
            out += n.to_bytes(4, "big")
        out += b
    elif t is bool:
        out.append(0xC3 if v else 0xC2)
    elif t is int:
        _pack_int(v, out)
    elif t is float:
        out.append(0xCB)
        out += _f64.pack(v)
    elif v is None:
        out.append(0xC0)
    elif t is dict:
        _pack_len(len(v), out, 0x80, 15, 0xDE, 0xDF)
        for k, x in v.items():
            _pack(k, out)
            _pack(x, out)
    elif t is list or t is tuple:
        _pack_len(len(v), out, 0x90, 15, 0xDC, 0xDD)
        for x in v:
            _pack(x, out)
    elif t is bytes or t is bytearray or t is memoryview:
        b = bytes(v)
        n = len(b)
        if n < 0x100:
            out.append(0xC4)
            out.append(n)
        elif n < 0x10000:
            out.append(0xC5)
            out += n.to_bytes(2, "big")
        else:
            out.append(0xC6)
            out += n.to_bytes(4, "big")
        out += b
    elif isinstance(v, bool):
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        _pack_int(int(v), out)
    elif isinstance(v, float):
        out.append(0xCB)
        out += _f64.pack(float(v))
    elif isinstance(v, str):
        _pack(str(v), out)
    elif isinstance(v, dict):
        _pack(dict(v), out)
    elif isinstance(v, (list, tuple)):
        _pack(list(v), out)
    else:
        raise MsgpackError(f"cannot encode a {type(v).__name__} as MessagePack")


def _pack_int(v, out):
    # The smallest encoding, as rmp (the Rust SDK's encoder) chooses it.
    if 0 <= v < 0x80:
        out.append(v)
    elif -32 <= v < 0:
        out.append(v & 0xFF)
    elif v >= 0:
        if v < 0x100:
            out.append(0xCC)
            out.append(v)
        elif v < 0x10000:
            out.append(0xCD)
            out += v.to_bytes(2, "big")
        elif v < 0x1_0000_0000:
            out.append(0xCE)
            out += v.to_bytes(4, "big")
        elif v < 0x1_0000_0000_0000_0000:
            out.append(0xCF)
            out += v.to_bytes(8, "big")
        else:
            raise MsgpackError(f"integer {v} does not fit in 64 bits")
    else:
        if v >= -0x80:
            out.append(0xD0)
            out += v.to_bytes(1, "big", signed=True)
        elif v >= -0x8000:
            out.append(0xD1)
            out += v.to_bytes(2, "big", signed=True)
        elif v >= -0x8000_0000:
            out.append(0xD2)
            out += v.to_bytes(4, "big", signed=True)
        elif v >= -0x8000_0000_0000_0000:
            out.append(0xD3)
            out += v.to_bytes(8, "big", signed=True)
        else:
            raise MsgpackError(f"integer {v} does not fit in 64 bits")


def unpackb(data):
    """Decode one MessagePack value that fills `data` exactly."""
    try:
        v, i = _unpack(data, 0)
    except (IndexError, struct.error) as e:
        raise MsgpackError("truncated MessagePack input") from e
    if i != len(data):
        raise MsgpackError(f"{len(data) - i} bytes of trailing data after the MessagePack value")
    return v


def _str(data, i, n):
    return data[i : i + n].decode("utf-8"), i + n


def _array(data, i, n):
    out = []
    append = out.append
    for _ in range(n):
        b = data[i]
        if 0xA0 <= b <= 0xBF:  # fixstr, inline: most values are short strings
            j = i + 1 + (b & 0x1F)
            append(data[i + 1 : j].decode("utf-8"))
            i = j
        else:
            v, i = _unpack(data, i)
            append(v)
    return out, i


def _map(data, i, n):
    # Keys are almost always short strings, and a Python call per key is most of the cost of
    # decoding: read fixstr keys (and small-int and fixstr values) inline.
    out = {}
    for _ in range(n):
        b = data[i]
        if 0xA0 <= b <= 0xBF:
            j = i + 1 + (b & 0x1F)
            k = data[i + 1 : j].decode("utf-8")
            i = j
        else:
            k, i = _unpack(data, i)
        b = data[i]
        if 0xA0 <= b <= 0xBF:
            j = i + 1 + (b & 0x1F)
            out[k] = data[i + 1 : j].decode("utf-8")
            i = j
        elif b < 0x80:
            out[k] = b
            i += 1
        else:
            out[k], i = _unpack(data, i)
    return out, i


def _unpack(data, i):
    b = data[i]
    i += 1
    if b < 0x80:
        return b, i
    if b >= 0xE0:
        return b - 0x100, i
    if b <= 0x8F:
        return _map(data, i, b & 0x0F)
    if b <= 0x9F:
        return _array(data, i, b & 0x0F)
    if b <= 0xBF:
        n = b & 0x1F
        return data[i : i + n].decode("utf-8"), i + n
    if b == 0xC0:
        return None, i
    if b == 0xC2:
        return False, i
    if b == 0xC3:
        return True, i
    if b == 0xCB:
        return _unpack_from(">d", data, i)[0], i + 8
    if b == 0xCC:
        return data[i], i + 1
    if b == 0xCD:
        return _unpack_from(">H", data, i)[0], i + 2
    if b == 0xCE:
        return _unpack_from(">I", data, i)[0], i + 4
    if b == 0xCF:
        return _unpack_from(">Q", data, i)[0], i + 8
    if b == 0xD0:
        return _unpack_from(">b", data, i)[0], i + 1
    if b == 0xD1:
        return _unpack_from(">h", data, i)[0], i + 2
    if b == 0xD2:
        return _unpack_from(">i", data, i)[0], i + 4
    if b == 0xD3:
        return _unpack_from(">q", data, i)[0], i + 8
    if b == 0xCA:
        return _unpack_from(">f", data, i)[0], i + 4
    if b == 0xD9:
        return _str(data, i + 1, data[i])
    if b == 0xDA:
        return _str(data, i + 2, _unpack_from(">H", data, i)[0])
    if b == 0xDB:
        return _str(data, i + 4, _unpack_from(">I", data, i)[0])
    if b == 0xDC:
        return _array(data, i + 2, _unpack_from(">H", data, i)[0])
    if b == 0xDD:
        return _array(data, i + 4, _unpack_from(">I", data, i)[0])
    if b == 0xDE:
        return _map(data, i + 2, _unpack_from(">H", data, i)[0])
    if b == 0xDF:
        return _map(data, i + 4, _unpack_from(">I", data, i)[0])
    if b in (0xC4, 0xC5, 0xC6):
        w = {0xC4: 1, 0xC5: 2, 0xC6: 4}[b]
        n = int.from_bytes(data[i : i + w], "big")
        i += w
        return bytes(data[i : i + n]), i + n
    if 0xD4 <= b <= 0xD8 or b in (0xC7, 0xC8, 0xC9):
        raise MsgpackError(f"MessagePack extension types are not supported (marker 0x{b:02x})")
    raise MsgpackError(f"invalid MessagePack marker 0x{b:02x}")
