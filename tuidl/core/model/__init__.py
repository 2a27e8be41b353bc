"""The model: layer specifications with shapes and counts (:mod:`.layers`, no torch), the
``torch.nn.Module`` built from them (:mod:`.model`) and fitting a model to its data
(:mod:`.fit`)."""
