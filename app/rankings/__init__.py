"""County analysis: rankings, comparisons, where points are lost, quota pressure, what-if, charts, exports."""
