"""What a spec says: OpenAPI documents read safely, repaired, validated and indexed by operation
(`specs`), and the REST resources their paths describe (`resources`). No request, no state."""
