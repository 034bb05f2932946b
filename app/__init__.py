"""Labelgraph: a GraphQL API server for governed data-labeling programs."""
