"""A run and its directory: the directory (:mod:`.rundir`), the event stream and its writer
(:mod:`.events`), the one reducer of events into state (:mod:`.runview`), the list of runs
(:mod:`.runlist`), starting a trainer process (:mod:`.launch`), what a run did
(:mod:`.report`), the marks read from its curves (:mod:`.fitting`) and how its numbers read
(:mod:`.units`)."""
