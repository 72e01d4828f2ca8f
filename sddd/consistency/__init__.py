"""Whether the documents agree with the configuration: claims a guide makes (flags, ports,
models, images, GPUs), drift against the resolved profiles, and the repository audit."""
