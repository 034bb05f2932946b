"""The fixed benchmark workload, run against a real `uvicorn` server over loopback HTTP.

`python -m bench.run` (or `make bench`); see bench/README.md for what it measures.
"""
