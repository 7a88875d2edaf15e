"""A `tf.function` as an ONNX graph, converted by tf2onnx (the `onnx` extra).

The ONNX export (`srn_tf.export.onnx_file`) converts the export graph with it, and
int8 quantization (`srn_tf.inference.int8`) the network alone.
"""

import logging


def convert_to_onnx(function, opset):
    """tf2onnx's ONNX `ModelProto` of a `tf.function` with one input signature.

    The variables the function reads are frozen into the graph's initializers.
    """
    import tf2onnx

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature,
                                             opset=opset)
    return proto
