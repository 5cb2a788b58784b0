"""distroduce plugin SDK for Python: write policies and state updates as plain functions, build
them into a WebAssembly component with componentize-py (see ../README.md)."""

from .msgpack import MsgpackError, packb, unpackb
from .plugin import DEBUG, ERROR, INFO, TRACE, WARN, Ctx, PluginError, policy, state_update
from .time import format_python, to_datetime

__all__ = [
    "Ctx",
    "PluginError",
    "policy",
    "state_update",
    "packb",
    "unpackb",
    "MsgpackError",
    "format_python",
    "to_datetime",
    "TRACE",
    "DEBUG",
    "INFO",
    "WARN",
    "ERROR",
]
