"""Pure computation (no Django): indicator models, scoring pipeline, rules, credit lines."""
