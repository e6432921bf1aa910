"""The project's format overrides (settings.FORMAT_MODULE_PATH); Django's locale formats fill in
everything not named here."""
