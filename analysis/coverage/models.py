"""The coverage models' registry: every model name the library and the command line accept.

:func:`analysis.coverage.engine.compute_coverage` implements them; the CLI's ``--model``
choices, the tiled runner and the rollout read the names from here. This module imports
nothing heavy, so the command line can list the choices without loading the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEFAULT_MODEL_WITHOUT_DEM", "DEFAULT_MODEL_WITH_DEM", "MODELS", "MODEL_INFO",
           "TERRAIN_MODELS"]

#: model name → what it computes (DESIGN §4)
MODEL_INFO: Mapping[str, str] = MappingProxyType({
    "terrain": "free space + Deygout diffraction (ITU-R P.452-14 three edges) over the DEM; "
               "Hata / COST-231 as options",
    "radius": "a disc of the technology's nominal radius around each site",
    "itm": "Longley-Rice ITM 1.2.2 point-to-point on the DEM's radial profiles",
})
#: the model names, the default first
MODELS: tuple[str, ...] = tuple(MODEL_INFO)
#: models that need a DEM
TERRAIN_MODELS: tuple[str, ...] = ("terrain", "itm")
#: the model run when none is named: terrain when a DEM is there, else radius
DEFAULT_MODEL_WITH_DEM = "terrain"
DEFAULT_MODEL_WITHOUT_DEM = "radius"
