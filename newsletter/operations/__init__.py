"""The operator's cockpit: the service at a glance, on the admin dashboard (/admin/dashboard/).

It reads every other concept (digests, delivery events, subscriptions, planning runs, the papers'
fetch runs) and writes nothing, so it is a folder of its own rather than a part of any one of them:
  selectors.py  the figures of the last 30 days, a few aggregate queries grouped by day
  alerts.py     the banners: a source that stopped fetching, bounce and complaint rates too high
  charts.py     server-side SVG charts as plain geometry (no JavaScript, nothing from a CDN)
  dashboard.py  the page
"""
