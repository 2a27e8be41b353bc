"""The machine: GPU and host telemetry (:mod:`.telemetry`) and data-parallel training
(:mod:`.distributed`)."""
