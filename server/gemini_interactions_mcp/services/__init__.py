"""Services: what the tools call. Each one owns a single rule (model ids, file inputs, turns, jobs)."""
