"""What a run is asked to do: the preset (:mod:`.preset`), its typed schema (:mod:`.schema`)
and key paths into it (:mod:`.keypath`)."""
