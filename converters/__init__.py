"""edgeml's host-side tools (import name ``edgeml_converters``): Keras → quantized .tflite, datasets, training.

These modules may import TensorFlow; the device runtime (``edgeml``) never imports them at its top.
"""
