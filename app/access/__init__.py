"""Access history: who called which operation or download, when, what it read or changed, and
every authorization denial (issue 10). Recorded per request, written in batches."""
