"""Fed, EBA and NGFS scenario readers producing :class:`MacroScenario` objects."""
