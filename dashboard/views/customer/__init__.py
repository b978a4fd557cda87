"""The Customer page's data, one module per part of the page: `view` (the reason card and the
"Why" waterfall), `whatif` (what-if and ICE), `levers`, `similar` (similar and find customers),
`lime_check` (LIME beside SHAP) and `report` (exports)."""
