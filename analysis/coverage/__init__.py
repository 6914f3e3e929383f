"""analysis.coverage: where villages are, what reaches them, and their status.

``engine`` (radius and terrain models, the site × village matrix), ``status`` (phủ / lõm /
trắng per operator and technology), ``ratios`` (the reports' "941/948" tables) and ``tiled``
(the same coverage split in tiles over dask.distributed).
"""
