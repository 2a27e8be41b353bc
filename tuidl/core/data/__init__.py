"""The data a run trains on: the dataset kinds and what they look like (:mod:`.catalog`,
no torch), loading and splitting them into tensors (:mod:`.data`), user tables
(:mod:`.tables`) and TensorFlow Playground's generators (:mod:`.playground`)."""
