"""``crm-masker dashboard``: a live web page of the released KPIs, read as a reader principal.

It shows what the KPI topics hold and nothing else: released cells with their numbers,
suppressed cells as suppressed (never as zero), and a KPI whose topic the principal may not
read as not readable. Chart.js (pinned, in ``static/vendor/``) draws the charts; no CDN.
"""
