"""TFLite files on the host: writing standard metadata into a flatbuffer, summarising a converted graph.

- :mod:`~edgeml_converters.tflite.metadata`: ``TFLITE_METADATA`` written with the ``flatbuffers`` Builder;
- :mod:`~edgeml_converters.tflite.graph`: ops, tensor dtypes and float leftovers of a converted model.
"""
