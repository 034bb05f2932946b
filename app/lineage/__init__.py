"""Lineage: dataset snapshots (what every export contained) and items' provenance in W3C PROV terms."""
