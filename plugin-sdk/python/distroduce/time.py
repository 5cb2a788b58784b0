"""The virtual clock as Python prints it."""

from datetime import datetime, timedelta

_EPOCH = datetime(1970, 1, 1)


def to_datetime(ns):
    """A naive UTC `datetime` for `ns` nanoseconds since the Unix epoch (sub-microsecond part
    dropped, rounding down, as the Rust SDK's `format_python` does)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def format_python(ns):
    """`str(datetime)` of the clock: `2019-10-03 00:00:00`, with `.ffffff` only when the
    microseconds are not zero. Equal to the Rust SDK's `time::format_python`."""
    return str(to_datetime(ns))
