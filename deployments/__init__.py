"""Ray Serve deployments, one per estimator: thin wrappers around the adapters in models/."""
