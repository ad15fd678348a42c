"""Running OpenTofu on a terraform/ configuration (python-terraform over the `tofu` binary)."""

from environments.terraform.cli import TerraformError, TofuWorkspace, default_binary

__all__ = ["TerraformError", "TofuWorkspace", "default_binary"]
