"""The data a run trains on: the dataset kinds, one class in one file (:mod:`.kinds`), and
what they look like (:mod:`.catalog`, no torch), loading and splitting them into tensors (:mod:`.data`), user tables
(:mod:`.tables`) and TensorFlow Playground's generators (:mod:`.playground`)."""
