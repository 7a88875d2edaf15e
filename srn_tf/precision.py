"""The arithmetic precisions, one vocabulary for inference and training.

    float32   the release's arithmetic (Keras policy "float32")
    bfloat16  Keras' "mixed_bfloat16": float32 variables, bfloat16 compute
    float16   Keras' "mixed_float16": float32 variables, float16 compute (training
              scales the loss, as float16 gradients underflow)

Inference also takes "auto" (`INFERENCE_PRECISIONS`): the precision the processor
computes natively, chosen by `srn_tf.processor.resolve_precision`; and "int8": the
network quantized and run by onnxruntime (`srn_tf.inference.int8`; the `onnx` extra).

Earlier versions of srn-train took the Keras policy names for its
--mixed_precision flag; `normalize_precision` turns those into these words.
No TensorFlow here.
"""

PRECISIONS = ("float32", "bfloat16", "float16")
AUTO = "auto"
INT8 = "int8"
INFERENCE_PRECISIONS = (AUTO,) + PRECISIONS + (INT8,)
_KERAS_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16",
                   "float16": "mixed_float16"}
# srn-train's former --mixed_precision values, still accepted.
ALIASES = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def check_precision(precision, name="precision", choices=PRECISIONS):
    """Returns `precision` when it is one of `choices`.

    Args:
        precision: the value to check.
        name: what to call it in the message (e.g. "mixed_precision").
        choices: the precisions allowed (PRECISIONS; INFERENCE_PRECISIONS adds "auto").

    Raises:
        ValueError: naming the precisions and echoing what was received.
    """
    if precision not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}. "
                         f"Received: {name}={precision!r}")
    return precision


def check_inference_precision(precision):
    """Returns `precision` when it is one of INFERENCE_PRECISIONS ("auto" or PRECISIONS).

    Raises:
        ValueError: naming them and echoing what was received.
    """
    return check_precision(precision, choices=INFERENCE_PRECISIONS)


def normalize_precision(precision):
    """The word for `precision`: "mixed_float16" -> "float16", "mixed_bfloat16" ->
    "bfloat16"; anything else is returned as it is (to be checked)."""
    return ALIASES.get(precision, precision)


def keras_policy(precision):
    """The Keras dtype policy name of a precision ("bfloat16" -> "mixed_bfloat16").

    Raises:
        ValueError: `precision` is not one of PRECISIONS.
    """
    return _KERAS_POLICIES[check_precision(precision)]
