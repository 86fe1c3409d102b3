"""Macro-to-granular translation: satellite regressions, generative transformer, plausibility, registry."""
