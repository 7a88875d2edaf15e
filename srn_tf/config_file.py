"""The name of the JSON file that says what a model folder holds.

`srn_config.json` sits in every srn_tf checkpoint folder (`save_model`,
srn-convert, srn-train), every preset and every srn-export SavedModel folder: the
model's type, architecture and inference defaults. Its name is defined here, in a
base module of the standard library alone, because the lowest reader is
`srn_tf.write_safety` (which recognises srn-tf's own folders before
`--overwrite` replaces one) and it may import nothing above the base layer.
"""

CONFIG_FILE = "srn_config.json"
