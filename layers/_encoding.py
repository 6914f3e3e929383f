"""Decoding of text files in the legacy Vietnamese encodings still found in provincial data.

Spreadsheets from provincial offices come as UTF-8 (with or without a byte-order mark), as
Windows-1258 (cp1258, what Excel writes on a Vietnamese Windows), or as TCVN3 (TCVN 5712:1993
"VN3", the encoding of the ABC fonts .VnTime/.VnArial that most Vietnamese offices used before
Unicode), and sometimes as VNI-Windows (the VNI-Times fonts, common in the south). Python has
cp1258 but neither TCVN3 nor VNI, so their tables are written out here.

VNI writes a toned letter as its base letter followed by one mark byte from the Latin-1 range
(``ù ø û õ ï`` = acute, grave, hook, tilde, dot; ``â á à å ã ä`` = circumflex and its tones;
``ê é è ú ü ë`` = breve and its tones), ``ô`` and ``ö`` for ơ and ư, single bytes for the
toned i (``í ì æ ó ò``), ``î`` for ỵ and ``ñ`` for đ; upper case uses the upper-case bytes.

cp1258 stores most toned vowels as a base letter plus a *combining* tone mark, so its decoded
text is normalised to NFC (one code point per letter), like everything else in phusong.

TCVN3 (VN3) table
-----------------
Bytes below 0x80 are ASCII. Above, VN3 encodes the 67 lower-case Vietnamese letters with a
diacritic and the seven upper-case base letters Ă Â Ê Ô Ơ Ư Đ; upper-case *toned* letters were
drawn with a separate upper-case font (.VnTimeH) on the lower-case codes, so they decode as
lower case — a limitation of the encoding, not of this decoder. Rows below are
(no tone, grave, hook, tilde, acute, dot below)::

    a   -     B5  B6  B7  B8  B9        ă  A8  BB  BC  BD  BE  C6
    â   A9    C7  C8  C9  CA  CB        e  -   CC  CE  CF  D0  D1
    ê   AA    D2  D3  D4  D5  D6        i  -   D7  D8  DC  DD  DE
    o   -     DF  E1  E2  E3  E4        ô  AB  E5  E6  E7  E8  E9
    ơ   AC    EA  EB  EC  ED  EE        u  -   EF  F1  F2  F3  F4
    ư   AD    F5  F6  F7  F8  F9        y  -   FA  FB  FC  FD  FE
    đ   AE    Ă A1  Â A2  Ê A3  Ô A4  Ơ A5  Ư A6  Đ A7

Unassigned bytes of 0x80–0xFF decode as the Latin-1 character of the same value. The table is
checked in the tests on place names of Lai Châu ("Mường Tè", "Phong Thổ", "Bản Nậm Cuổi").

Detection
---------
:func:`decode_text` prefers valid UTF-8 (a BOM settles it). Otherwise it decodes with cp1258
with TCVN3 and with VNI, and scores each result for Vietnamese plausibility: words with more than
one tone mark, tone marks on consonants, vowel groups that are no Vietnamese nucleus ("aâu",
"oô") and symbols such as ``¸ ¶ © ¬`` in the middle of words count against. The caller is told which encoding was assumed.
"""

from __future__ import annotations

import re
import unicodedata

from phusong.gis.errors import InputError

__all__ = ["ENCODINGS", "decode_text", "encode_legacy", "tcvn3_decode", "tcvn3_encode",
           "vni_decode", "vni_encode"]

#: encodings :func:`decode_text` understands (``encoding=`` values)
ENCODINGS = ("utf-8", "utf-8-sig", "cp1258", "tcvn3", "vni")

_TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # grave hook tilde acute dot
_ROWS = {  # base letter: (no tone, grave, hook, tilde, acute, dot below)
    "a": (None, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (None, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (None, 0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (None, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (None, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (None, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_SINGLES = {0xAE: "đ", 0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư",
            0xA7: "Đ"}


def _build_tables() -> tuple[str, dict[str, int]]:
    decode = [chr(i) for i in range(256)]
    for base, codes in _ROWS.items():
        for tone, code in zip(_TONES, codes, strict=True):
            if code is not None:
                decode[code] = unicodedata.normalize("NFC", base + tone)
    for code, char in _SINGLES.items():
        decode[code] = char
    assigned = {c for codes in _ROWS.values() for c in codes if c is not None} | set(_SINGLES)
    encode = {decode[i]: i for i in sorted(assigned)}
    return "".join(decode), encode


_TCVN3_DECODE, _TCVN3_ENCODE = _build_tables()


def tcvn3_decode(data: bytes) -> str:
    """Decode TCVN3 (VN3) bytes to NFC text."""
    return data.decode("latin-1").translate(
        {i: _TCVN3_DECODE[i] for i in range(0x80, 0x100)})


def tcvn3_encode(text: str) -> bytes:
    """Encode text as TCVN3 (upper-case toned letters are written lower-case, as VN3 did)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ord(ch))
        elif ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif ch.lower() in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch.lower()])
        else:
            raise UnicodeEncodeError("tcvn3", ch, 0, 1, "not in TCVN3")
    return bytes(out)


# -- VNI Windows -------------------------------------------------------------------------------
# VNI writes a letter as its base byte(s) followed by a mark byte, in the Latin-1 range; for
# each base the six forms are (no tone, acute, grave, hook, tilde, dot below). Upper case uses
# the upper-case base and mark bytes.
_VNI_TONES = ("", "ù", "ø", "û", "õ", "ï")  # after a, e, o, u, y, ô (ơ), ö (ư)
_VNI_CIRCUMFLEX = ("â", "á", "à", "å", "ã", "ä")  # â ê ô and their tones
_VNI_BREVE = ("ê", "é", "è", "ú", "ü", "ë")  # ă and its tones
_VNI_ROWS = {  # Vietnamese base (with its own diacritic) -> (VNI base, mark row)
    "a": ("a", _VNI_TONES), "â": ("a", _VNI_CIRCUMFLEX), "ă": ("a", _VNI_BREVE),
    "e": ("e", _VNI_TONES), "ê": ("e", _VNI_CIRCUMFLEX),
    "o": ("o", _VNI_TONES), "ô": ("o", _VNI_CIRCUMFLEX), "ơ": ("ô", _VNI_TONES),
    "u": ("u", _VNI_TONES), "ư": ("ö", _VNI_TONES), "y": ("y", _VNI_TONES),
}
_VNI_SINGLE = {"í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î", "đ": "ñ"}


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {}  # VNI sequence -> letter
    tone_marks = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
    for letter, (base, marks) in _VNI_ROWS.items():
        for tone, mark in zip(tone_marks, marks, strict=True):
            char = unicodedata.normalize("NFC", letter + tone)
            if char == "ỵ":
                continue  # a single byte, below
            for lower in (True, False):
                seq = base + mark if lower else base.upper() + mark.upper()
                table[seq] = char if lower else char.upper()
    for char, seq in _VNI_SINGLE.items():
        table[seq] = char
        table[seq.upper()] = char.upper()
    return {k: v for k, v in table.items() if k != v and not k.isascii()}


_VNI_DECODE = _build_vni()
_VNI_ENCODE = {v: k for k, v in _VNI_DECODE.items()}
_VNI_PATTERN = re.compile("|".join(sorted(map(re.escape, _VNI_DECODE), key=len, reverse=True)))


def vni_decode(data: bytes) -> str:
    """Decode VNI-Windows bytes (the VNI-Times family of fonts) to NFC text."""
    return _VNI_PATTERN.sub(lambda m: _VNI_DECODE[m.group(0)], data.decode("latin-1"))


def vni_encode(text: str) -> bytes:
    """Encode text as VNI-Windows (used to make test files)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        out.append(_VNI_ENCODE.get(ch, ch))
    try:
        return "".join(out).encode("latin-1")
    except UnicodeEncodeError:
        raise UnicodeEncodeError("vni", text, 0, len(text), "not in VNI") from None


def _cp1258_encode(text: str) -> bytes:
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in decomposed if c in _TONES[1:])
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        out += (base + tones).encode("cp1258")
    return bytes(out)


def encode_legacy(text: str, encoding: str) -> bytes:
    """Encode text in ``"cp1258"`` (base letter + combining tone, as Windows does) or ``"tcvn3"``.

    Used to make test files; phusong itself always writes UTF-8.
    """
    if encoding == "tcvn3":
        return tcvn3_encode(text)
    if encoding == "vni":
        return vni_encode(text)
    if encoding == "cp1258":
        return _cp1258_encode(text)
    return text.encode(encoding)


# -- detection --------------------------------------------------------------------------------

#: vowel nuclei of Vietnamese syllables, without tone (after gi-/qu- the i/u is the onset's)
_NUCLEI = set("""a ai ao au ay â âu ây ă e eo ê êu i ia iu iê iêu o oa oai oao oay oă oe oeo oi
oo ô ôi ơ ơi u ua uâ uây uê ui uô uôi uơ uy uya uyê uyu ư ưa ưi ưu ươ ươi ươu y yê yêu
""".split())
_VOWEL_RUN = re.compile("[aăâeêioôơuưy]+")

_VIET_LETTERS = set(
    "aăâbcdđeêghiklmnoôơpqrstuưvxyfjwz"
    "AĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYFJWZ")
_WORD = re.compile(r"[^\W\d_]+")
_TONE_SET = set(_TONES[1:])
_VOWELS = set("aăâeêioôơuưyAĂÂEÊIOÔƠUƯY")


def _plausibility(text: str) -> float:
    """Higher is more like Vietnamese: good words minus bad words and stray symbols."""
    good = bad = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        nfd = unicodedata.normalize("NFD", word)
        tones = sum(c in _TONE_SET for c in nfd)
        base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONE_SET))
        letters_ok = all(c in _VIET_LETTERS for c in base)
        tone_on_vowel = all(
            ((i > 0 and nfd[i - 1] in "\u0302\u0306\u031b") or unicodedata.normalize(
                "NFC", nfd[i - 1]) in _VOWELS) for i, c in enumerate(nfd) if c in _TONE_SET)
        low = base.lower()
        if low[:2] in ("gi", "qu") and len(low) > 2 and low[2] in "aăâeêioôơuưy":
            low = low[2:]  # the i of gi-, the u of qu- belong to the onset
        nuclei_ok = all(run in _NUCLEI for run in _VOWEL_RUN.findall(low))
        if tones <= 1 and letters_ok and tone_on_vowel and nuclei_ok:
            good += 1
        else:
            bad += 1
    stray = sum(1 for c in text if ord(c) >= 0x80 and not c.isalpha()
                and unicodedata.category(c) not in ("Mn", "Zs"))
    return good - 2 * bad - stray


def decode_text(data: bytes, *, encoding: str | None = None,
                source: str = "<bytes>") -> tuple[str, str]:
    """Decode the bytes of a text file; return ``(text, encoding_used)``.

    Parameters
    ----------
    data
        The raw bytes.
    encoding
        Force an encoding (one of :data:`ENCODINGS` or any Python codec); ``None`` detects.
    source
        File name used in error messages.

    Returns
    -------
    tuple
        NFC-normalised text without a BOM, and the encoding name: ``"utf-8-sig"``, ``"utf-8"``,
        ``"cp1258"`` or ``"tcvn3"``.
    """
    if encoding is not None:
        enc = encoding.lower().replace("_", "-")
        try:
            if enc in ("tcvn3", "tcvn", "abc", "vn3"):
                text, enc = tcvn3_decode(data), "tcvn3"
            elif enc in ("vni", "vni-windows"):
                text, enc = vni_decode(data), "vni"
            else:
                text = data.decode(enc)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"{source}: cannot be decoded as {encoding} ({exc}); "
                             "omit encoding= to detect it") from None
        return unicodedata.normalize("NFC", text.lstrip("\ufeff")), enc
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return unicodedata.normalize("NFC", data[3:].decode("utf-8")), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputError(f"{source}: starts with a UTF-8 BOM but is not valid UTF-8 "
                             f"(byte {exc.start + 3}); re-save it as UTF-8") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return unicodedata.normalize("NFC", data.decode("utf-16")).lstrip("\ufeff"), "utf-16"
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = {"cp1258": unicodedata.normalize("NFC", data.decode("cp1258", "replace")),
                  "tcvn3": unicodedata.normalize("NFC", tcvn3_decode(data)),
                  "vni": unicodedata.normalize("NFC", vni_decode(data))}
    scores = {enc: _plausibility(text) for enc, text in candidates.items()}
    # ties: the shorter text (VNI's two-byte letters read as two letters elsewhere), then the
    # more common encoding
    order = {"cp1258": 2, "tcvn3": 1, "vni": 0}
    best = max(scores, key=lambda e: (scores[e], -len(candidates[e]), order[e]))
    return candidates[best], best
