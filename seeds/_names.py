"""Vietnamese place names for the sample province, built from syllable lists (NFC)."""

from __future__ import annotations

import unicodedata

import numpy as np

__all__ = ["NameMaker"]

# Syllables common in Thái, Hmông, Dao, Hà Nhì, Giáy place names of the north-west.
SYLLABLES = (
    "Nậm", "Pá", "Huổi", "Sì", "Phìn", "Hồ", "Sin", "Mù", "Ka", "Lăng", "Chải", "Tả", "Pờ",
    "Khổng", "Lào", "Cuổi", "Khôm", "Mồ", "Sáng", "Tông", "Sang", "Ma", "Lù", "Thàng", "Vàng",
    "Pắc", "Ta", "Cang", "Bum", "Nưa", "Tở", "Lìn", "Hua", "Bó", "Mường", "Pa", "Lé", "Xá",
    "Dền", "Phăng", "Chiêu", "Ho", "Hon", "Khum", "Nhé", "Pú", "Đao", "Lồng", "Than", "Uyên",
    "Pha", "Mu", "Khoang", "Tà", "Giàng", "Nà", "Phúc", "Khoen", "On", "Pin", "Hạ", "Thượng",
    "Chăn", "Nùng", "Cò", "Lếch", "Xìn", "Chồ", "Tủa", "Chùa", "Háng", "Sủ", "Cáo", "Lùng",
    "Thăng", "Mán", "Ngải", "Thầu", "Vây", "Nghiêm", "Noong", "Hẻo", "Sài", "Luông", "Kim",
    "Tát", "Toong", "Lò", "Hỏm", "Pậu", "Pheo", "Co", "Muông", "Hốc", "Khai", "Phạ",
    "Hán", "Pe", "Hăn", "Tè", "Mìn", "Chang", "Kéo", "Coóc", "Pàng", "Lèng", "Sáo",
)


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


class NameMaker:
    """Draws two-syllable names, unique within a scope (a commune, the province)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: dict[str, set[str]] = {}

    def name(self, scope: str = "") -> str:
        used = self.used.setdefault(scope, set())
        for _ in range(200):
            a, b = self.rng.choice(len(SYLLABLES), size=2, replace=False)
            n = _nfc(f"{SYLLABLES[a]} {SYLLABLES[b]}")
            if n not in used:
                used.add(n)
                return n
        # dense scope: add a third syllable
        while True:
            a, b, c = self.rng.choice(len(SYLLABLES), size=3, replace=False)
            n = _nfc(f"{SYLLABLES[a]} {SYLLABLES[b]} {SYLLABLES[c]}")
            if n not in used:
                used.add(n)
                return n
