"""Quantize one model: calibration data, the TFLite converter run per mode, calibrated int8 weight rounding.

- :mod:`~edgeml_converters.quantize.calibration`: real images prepared exactly as the runtime prepares them;
- :mod:`~edgeml_converters.quantize.writer`: :func:`write_model`, one mode → a checked .tflite with metadata;
- :mod:`~edgeml_converters.quantize.rounding`: AdaRound-style rounding + bias correction of int8 weights;
- :mod:`~edgeml_converters.quantize.agreement`: top-1 agreement with the float model (convert, report, train).
"""
