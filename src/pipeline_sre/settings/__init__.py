"""Settings: the validated configuration, at the bottom of the layers (it imports no service code)."""
