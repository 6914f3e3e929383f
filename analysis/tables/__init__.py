"""phusong.analysis.tables: the per-village and per-site tables built from coverage.

Gap lists per operator, infrastructure sharing, the 2G/3G sunset, service radius, fibre reach
and postal indicators.
"""
