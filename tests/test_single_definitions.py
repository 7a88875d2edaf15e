"""Names the package spells in one place only, so that a change of one cannot miss a copy."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "srn_tf"


def modules_spelling(text):
    """The package's modules (paths relative to srn_tf/) whose code holds the string
    constant `text` exactly (docstrings and comments, which only mention it, aside)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.Constant) and node.value == text
               for node in ast.walk(tree)):
            found.append(str(path.relative_to(PACKAGE)))
    return found


def test_the_model_config_file_name_is_defined_once():
    # Every reader and writer of a model folder's config imports CONFIG_FILE from here.
    assert modules_spelling("srn_config.json") == ["config_file.py"]
