"""Mobile network operators of Vietnam, with the aliases found in real data."""

from __future__ import annotations

import enum
import unicodedata

from phusong.gis.errors import SchemaError

__all__ = ["OPERATORS", "UNKNOWN_OPERATOR", "Operator", "operator_from_mnc", "owner_id",
           "parse_operator"]


class Operator(enum.StrEnum):
    """The four mobile operators. The value is the canonical lower-case id."""

    VIETTEL = "viettel"
    VINAPHONE = "vinaphone"
    MOBIFONE = "mobifone"
    VIETNAMOBILE = "vietnamobile"

    @property
    def label(self) -> str:
        """Display name (same in Vietnamese and English)."""
        return _LABELS[self]

    @property
    def mnc(self) -> str:
        """Mobile network code under MCC 452."""
        return _MNC_OF[self]

    def __str__(self) -> str:
        return self.value


OPERATORS: tuple[Operator, ...] = tuple(Operator)
#: owner of a tower whose owner is not known (OSM masts without an ``operator`` tag): such a
#: tower carries no BTS of its own, is a sharing candidate for every operator and a rollout
#: candidate site
UNKNOWN_OPERATOR = "unknown"
_UNKNOWN_WORDS = {"unknown", "khong ro", "chua ro", "chua xac dinh", "khong xac dinh", "?",
                  "n/a", "na"}

_LABELS = {Operator.VIETTEL: "Viettel", Operator.VINAPHONE: "Vinaphone",
           Operator.MOBIFONE: "MobiFone", Operator.VIETNAMOBILE: "Vietnamobile"}
_MNC_OF = {Operator.MOBIFONE: "01", Operator.VINAPHONE: "02", Operator.VIETTEL: "04",
           Operator.VIETNAMOBILE: "05"}
_MNC = {"01": Operator.MOBIFONE, "02": Operator.VINAPHONE, "04": Operator.VIETTEL,
        "05": Operator.VIETNAMOBILE}

_ALIASES = {
    "viettel": Operator.VIETTEL, "viettel telecom": Operator.VIETTEL,
    "viettel mobile": Operator.VIETTEL, "vtl": Operator.VIETTEL, "vt": Operator.VIETTEL,
    "tap doan cong nghiep vien thong quan doi": Operator.VIETTEL,
    "vinaphone": Operator.VINAPHONE, "vnpt": Operator.VINAPHONE, "vnp": Operator.VINAPHONE,
    "vnpt vinaphone": Operator.VINAPHONE, "vnpt-vinaphone": Operator.VINAPHONE,
    "vina": Operator.VINAPHONE, "vinafone": Operator.VINAPHONE,
    "mobifone": Operator.MOBIFONE, "mobiphone": Operator.MOBIFONE, "mobi": Operator.MOBIFONE,
    "vms": Operator.MOBIFONE, "vms mobifone": Operator.MOBIFONE,
    "vietnamobile": Operator.VIETNAMOBILE, "vnmobile": Operator.VIETNAMOBILE,
    "vnm": Operator.VIETNAMOBILE, "ht mobile": Operator.VIETNAMOBILE,
    "htmobile": Operator.VIETNAMOBILE,
}


def _key(text: str) -> str:
    s = unicodedata.normalize("NFD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(s.lower().replace("_", " ").split())


def parse_operator(value: object) -> Operator:
    """Map a name, alias or MNC (``"452-04"``, ``"04"``, ``4``) to an :class:`Operator`.

    Raises
    ------
    SchemaError
        When the value is not a known operator; the message lists the accepted names.
    """
    if isinstance(value, Operator):
        return value
    if value is None:
        raise SchemaError("operator is empty; use one of viettel, vinaphone, mobifone, vietnamobile")
    text = str(value).strip()
    if text.replace("-", "").replace(" ", "").isdigit() or text.isdigit():
        return operator_from_mnc(text)
    key = _key(text)
    if key in _ALIASES:
        return _ALIASES[key]
    raise SchemaError(f"unknown operator {text!r}; use one of viettel, vinaphone, mobifone, "
                      "vietnamobile (aliases such as VNPT or MNC 452-04 are accepted)")


def owner_id(value: object) -> str:
    """A tower owner's id: an operator's canonical id, or :data:`UNKNOWN_OPERATOR` for
    ``"unknown"``/``"không rõ"``/``"chưa rõ"``.

    Raises
    ------
    SchemaError
        Anything else that is not an operator (the message of :func:`parse_operator`).
    """
    if value is not None and _key(str(value)) in _UNKNOWN_WORDS:
        return UNKNOWN_OPERATOR
    return parse_operator(value).value


def operator_from_mnc(mnc: object, mcc: object = 452) -> Operator:
    """Operator for a mobile network code under MCC 452 (``"452-04"`` or ``4``)."""
    text = str(mnc).strip().replace(" ", "")
    if "-" in text:
        mcc, text = text.split("-", 1)
    if str(mcc).strip() != "452":
        raise SchemaError(f"MCC {mcc} is not Vietnam (452)")
    code = text.zfill(2)[-2:]
    if code not in _MNC:
        raise SchemaError(f"unknown MNC 452-{code}; known: 01 MobiFone, 02 Vinaphone, "
                          "04 Viettel, 05 Vietnamobile")
    return _MNC[code]
