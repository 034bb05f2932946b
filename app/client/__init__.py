"""A client of Labelgraph's own API (GraphQL and the download routes), for the operator CLI.

One code path whether the server runs elsewhere (`--url` and a Bearer token) or the store is local
(the ASGI app in this process, acting as a named user): see `connect`.
"""
