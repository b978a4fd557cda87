"""JVM-free models: one encoder, one sigmoid, margin and SHAP per runtime kind."""
