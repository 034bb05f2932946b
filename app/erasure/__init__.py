"""Erasure and retention: a data subject's content removed on request (eraseSubject), a person's
name replaced by a pseudonym (eraseUser), and content purged past a project's retention period
(`labelgraph retention apply`), all leaving tombstones so lineage and counts still add up."""
