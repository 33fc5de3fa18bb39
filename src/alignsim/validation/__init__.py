"""Checks of the model against the record and of its assumptions: the documented patterns
(``patterns``), the replay against them (``validate``), the calibration of the assumption
parameters (``calibrate``) and the global sensitivity analysis (``sensitivity``)."""
