"""The operations dashboard: pages served by the app itself that read only the GraphQL API."""
