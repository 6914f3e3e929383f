"""phusong.layers._encoding: UTF-8/BOM, Windows-1258 and TCVN3 (ABC) decoding and detection."""

from __future__ import annotations

import unicodedata

import pytest

from phusong.gis.errors import InputError
from phusong.layers._encoding import decode_text, encode_legacy, tcvn3_decode, tcvn3_encode

NAMES = ["Lai Châu", "Mường Tè", "Phong Thổ", "Bản Nậm Cuổi", "Sìn Hồ", "Tam Đường",
         "Nậm Nhùn", "Than Uyên", "Tân Uyên", "Điện Biên", "Lạng Sơn", "Bát Xát",
         "Mường Khương", "Bảo Thắng", "thôn Nà Khằn, xã Nậm Xe", "Ữ, ự, ỹ, ỵ, ặ, ẫ, ợ"]


@pytest.mark.parametrize(("text", "data"), [
    ("Lai Châu", b"Lai Ch\xa9u"),
    ("Mường Tè", b"M\xad\xeang T\xcc"),
    ("Phong Thổ", b"Phong Th\xe6"),
    ("Bản Nậm Cuổi", b"B\xb6n N\xcbm Cu\xe6i"),
    ("Điện Biên", b"\xa7i\xd6n Bi\xaan"),
    ("Bảo Thắng", b"B\xb6o Th\xbeng"),
])
def test_tcvn3_table_on_place_names(text, data):
    assert tcvn3_encode(text) == data
    assert tcvn3_decode(data) == text


def test_tcvn3_covers_every_lowercase_vowel_with_diacritics():
    letters = set()
    for base in "aăâeêioôơuưy":
        for tone in ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"):
            letters.add(unicodedata.normalize("NFC", base + tone))
    letters -= set("aeiouy")
    assert len(letters) == 66  # + đ = the 67 lower-case letters with a diacritic
    for ch in letters:
        assert tcvn3_decode(tcvn3_encode(ch)) == ch
    assert len({tcvn3_encode(ch) for ch in letters}) == 66  # one byte each, all distinct


def test_tcvn3_uppercase_toned_letters_decode_as_lowercase():
    # VN3 drew them with an upper-case font on the lower-case codes: a documented loss
    assert tcvn3_decode(tcvn3_encode("Ữ")) == "ữ"


@pytest.mark.parametrize("encoding", ["cp1258", "tcvn3"])
def test_detection_of_legacy_encodings(encoding):
    text = "\n".join(f"V{i:02d},{name},{100 + i}" for i, name in enumerate(NAMES[:-1]))
    decoded, used = decode_text(encode_legacy(text, encoding))
    assert used == encoding
    assert decoded == text and unicodedata.is_normalized("NFC", decoded)


@pytest.mark.parametrize("name", NAMES[:-1])
@pytest.mark.parametrize("encoding", ["cp1258", "tcvn3"])
def test_detection_on_single_names(name, encoding):
    decoded, used = decode_text(encode_legacy(name, encoding))
    assert (decoded, used) == (name, encoding)


def test_cp1258_combining_marks_are_normalised():
    data = encode_legacy("Mường Tè", "cp1258")
    assert b"\xcc" in data  # the combining grave of cp1258
    assert decode_text(data)[0] == "Mường Tè"


def test_utf8_with_and_without_bom():
    assert decode_text("Lai Châu".encode()) == ("Lai Châu", "utf-8")
    assert decode_text("\ufeffLai Châu".encode()) == ("Lai Châu", "utf-8-sig")
    nfd = unicodedata.normalize("NFD", "Mường Tè").encode()
    assert decode_text(nfd)[0] == "Mường Tè"  # NFC


def test_forced_encoding():
    data = encode_legacy("Phong Thổ", "tcvn3")
    assert decode_text(data, encoding="TCVN3") == ("Phong Thổ", "tcvn3")
    assert decode_text(data, encoding="latin-1")[1] == "latin-1"
    with pytest.raises(InputError, match=r"f.csv: cannot be decoded as utf-8"):
        decode_text(data, encoding="utf-8", source="f.csv")


def test_bom_with_broken_utf8_is_one_line():
    with pytest.raises(InputError, match=r"x.csv: starts with a UTF-8 BOM but is not valid"):
        decode_text(b"\xef\xbb\xbfabc\xff", source="x.csv")


def test_encode_legacy_utf8_passthrough():
    assert encode_legacy("Châu", "utf-8") == "Châu".encode()
    with pytest.raises(UnicodeEncodeError):
        tcvn3_encode("中")


def test_tcvn3_encoder_writes_real_tcvn3_codes():
    # à is 0xB5 in TCVN3; the Latin-1 byte 0xE0 is unassigned there
    assert tcvn3_encode("Dào") == b"D\xb5o"
    assert tcvn3_encode("Âu") == b"\xa2u"
    assert tcvn3_encode("Á") == b"\xb8"  # upper-case toned letters take the lower-case code


@pytest.mark.parametrize("name", NAMES[:-1])
def test_vni_round_trip_and_detection(name):
    from phusong.layers._encoding import vni_decode, vni_encode

    assert vni_decode(vni_encode(name)) == name
    assert decode_text(encode_legacy(name, "vni")) == (name, "vni") or name.isascii()


def test_vni_bytes():
    from phusong.layers._encoding import vni_encode

    assert vni_encode("Mường Tè") == b"M\xf6\xf4\xf8ng Te\xf8"  # ư=ö, ơ=ô, grave=ø
    assert vni_encode("Đ") == b"\xd1"
