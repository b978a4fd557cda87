"""One file per page: draws, does not compute."""
