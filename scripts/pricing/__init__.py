"""What Vertex AI training costs: dated price tables per region, and what a job's hours cost.

`table.py` reads the maintained tables (`scripts/pricing/prices.yaml`) and the cache of a
live refresh, and prices worker pools; `catalog.py` fetches prices from the Cloud Billing Catalog
API into that cache (`python -m scripts prices --refresh`). Import-light: no cloud library
unless a refresh is asked for. Used by the cost model (`scripts.experiments.costs`) and the results
(`scripts.results.summary`); imports nothing of ours but `paths` and `errors`.
"""
