"""The chat model's plugins in Python (plugins/chat in Rust): componentize-py's entry module.

Importing the function modules registers them; `WitWorld` is the component's export class."""

import policies  # noqa: F401
import state_updates  # noqa: F401
from distroduce.component import WitWorld  # noqa: F401
