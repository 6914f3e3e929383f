"""seeds: the reported figures of the seed reports and the sample-province recipe.

Everything the generator writes is sample data and is labelled so. Names are loaded on first
use.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "reported": "seeds.figures",
    "reported_value": "seeds.figures",
    "PRESETS": "seeds.presets",
    "generate_sample": "seeds.sample",
}

__all__ = [
    "PRESETS",
    "generate_sample",
    "reported",
    "reported_value",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
