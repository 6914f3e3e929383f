"""phusong.analysis.publish: what people read — the Folium map, the indicator report, offline assets."""
