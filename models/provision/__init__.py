"""Model files: where each comes from (the manifest), fetching it with its sha256 checked,
and provisioning what a configuration names. ``python -m models.provision`` runs it."""

from models.provision.provision import app_args, configured_models, main, provision

__all__ = ["app_args", "configured_models", "main", "provision"]
