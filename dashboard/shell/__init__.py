"""The app's shell: sign-in gate, cached bundle access, drawing helpers, model picker."""
