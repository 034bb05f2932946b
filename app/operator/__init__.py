"""The operator's commands of `labelgraph` (import, export, schema check, quality report), all of
them clients of the API through `app.client` except `schema check`, which needs nothing but files."""
