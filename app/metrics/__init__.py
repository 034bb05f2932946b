"""Prometheus metrics for operators: what the server counts (registry.py), the queue figures read
from the database at scrape time (queue.py), GraphQL operation labels (graphql.py), and GET /metrics
with the request timing around /graphql (http.py)."""
