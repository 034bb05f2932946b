"""Operations figures of a project for its dashboard (projectOperations): throughput, errors,
latency, drift, the queue and the annotators needing attention."""
