"""phusong.analysis.coverage.engine: where villages are, what reaches them, and their status.

``models`` (the coverage models' registry), ``villages`` (centres, settled areas and sample
points of villages in a metric CRS), ``engine`` (radius and terrain models, the site × village
matrix, the DEM of an analysis), ``status`` (phủ / lõm / trắng per operator and technology),
``ratios`` (the reports' "941/948" tables), ``run`` (the whole coverage run with the model
comparison) and ``tiled`` (the same coverage split in tiles over dask.distributed).
"""
