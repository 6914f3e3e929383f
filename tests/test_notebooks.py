"""The notebooks run top to bottom on the "mini" sample province, and are committed clean.

Each notebook in ``notebooks/`` is executed with nbclient on the ``python3`` kernel of the
running interpreter, in a temporary folder, with ``PHUSONG_NB_PRESET=mini`` (the notebooks
default to the full Lai Châu sample), ``PHUSONG_NB_MODEL=radius`` (fast; the terrain model has
its own tests) and ``PHUSONG_NB_OUT`` pointing into the temporary folder.
The three notebooks share one generated sample.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def nb_env(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    mp = pytest.MonkeyPatch()
    mp.setenv("PHUSONG_NB_PRESET", "mini")
    mp.setenv("PHUSONG_NB_OUT", str(out))
    mp.setenv("PHUSONG_NB_MODEL", "radius")  # the terrain model is tested elsewhere
    mp.setenv("MPLBACKEND", "Agg")
    yield out
    mp.undo()


def test_there_are_three_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["01_coverage_planner", "02_operator_gap_list",
                                           "03_rollout_scenarios"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: clear the outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_sample_province(path, nb_env):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(nb_env)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    assert (nb_env / "mini-sample" / "bundle.gpkg").exists()
