"""HTTP foundation shared by every API: routing, auth, errors, api-version, paging, LRO."""
