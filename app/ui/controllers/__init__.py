"""Controllers: connect the views' signals to pipeline and store calls run off the UI thread."""
