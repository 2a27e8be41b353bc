"""What a run is asked to do: the preset (:mod:`.preset`), its typed schema (:mod:`.schema`),
key paths into it (:mod:`.keypath`), the one grammar of values typed as text (:mod:`.values`:
``--set`` and the dashboard's fields) and the parsers of its ``[sweep]`` table
(:mod:`.sweeptable`)."""
