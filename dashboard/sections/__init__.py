"""Page sections: drawing functions a page can call (draw only; data from the views modules)."""
