"""placeholder"""

SensitivityResult = drop_one = sensitivity = None
