"""One spreadsheet-safety rule for every CSV/XLSX writer, rejects files included."""

from __future__ import annotations

import pandas as pd
import pytest

from phusong.gis.cells import neutralise_cell
from phusong.layers._rejects import write_rejects_csv


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(1)",
                                  "-2+3", "\u22122+3", "\uff1d1+1", "\tx", "\rx"])
def test_formula_starts_are_prefixed(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


def test_other_values_are_kept_and_text_is_nfc() -> None:
    assert neutralise_cell(-3.5) == -3.5
    assert neutralise_cell(None) is None
    assert neutralise_cell("Bản Nậm Cuổi") == "Bản Nậm Cuổi"
    assert neutralise_cell("Ba\u0309n") == "Bản"  # decomposed → NFC


def test_rejects_csv_uses_the_same_rule(tmp_path) -> None:
    rejected = pd.DataFrame({"name": ["\u2212SUM(A1)", "\uff20x", "Thôn Mới"],
                             "source_row": [2, 3, 4], "reject_field": ["name"] * 3,
                             "reject_reason": ["=bad"] * 3})
    path = write_rejects_csv(rejected, tmp_path / "rejects_villages.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert list(back["name"]) == ["'\u2212SUM(A1)", "'\uff20x", "Thôn Mới"]
    assert set(back["reject_reason"]) == {"'=bad"}


def test_text_dtype_agrees_with_pandas() -> None:
    """Same answer as pandas' is_string_dtype on every dtype a layer or table can hold (the
    writers use their own test because pandas' evaluates ``dtype == "string"``, in which
    numpy clears a pending KeyboardInterrupt: a Ctrl-C then was lost)."""
    import numpy as np
    import pandas as pd

    from phusong.gis.cells import is_text_dtype

    dtypes = [np.dtype(t) for t in ("f8", "f4", "i8", "u1", "O", "U3", "S2", "bool", "M8[ns]",
                                    "m8[s]", "c16")]
    dtypes += [pd.StringDtype(), pd.CategoricalDtype(["a"]), pd.PeriodDtype("D"),
               pd.IntervalDtype("int64"), pd.Int64Dtype(), pd.Float64Dtype(),
               pd.DatetimeTZDtype(tz="UTC"), pd.BooleanDtype()]
    for d in dtypes:
        assert is_text_dtype(d) == pd.api.types.is_string_dtype(d), d
    assert is_text_dtype(pd.Series(["Sìn Hồ"]).dtype)
