"""seeds: the reported figures of the seed reports and the sample-province recipe.

Everything the generator writes is sample data and is labelled so. Names are loaded on first
use.
"""

from __future__ import annotations

from gis._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
