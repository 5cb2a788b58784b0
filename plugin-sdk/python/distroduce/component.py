"""The component glue: the `distroduce:plugin` world's exports, over the registry of
`plugin.py`. A plugin's app module re-exports `WitWorld` from here, which is the name
componentize-py looks for.

Importing this module outside componentize-py fails (`wit_world` is generated at build time);
the rest of the SDK works in plain CPython, for tests.
"""

import wit_world
from wit_world.imports import host

from . import plugin

ABI_VERSION = 1


class WitWorld(wit_world.WitWorld):
    def abi_version(self) -> int:
        return ABI_VERSION

    def functions(self):
        return plugin.functions()

    def call(self, name: str, input: bytes) -> bytes:
        return plugin.call(name, input, host)

    def describe(self, name: str):
        return plugin.describe(name)
