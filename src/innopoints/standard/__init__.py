"""The data standard: field catalogue, code checks, derived indicators, stage schemes."""
