"""regnet_plugin: RegNet / AnyNet and design-space studies for OpenMMLab."""
