"""The package's imports read one way: each module imports only from its own layer or below.

Layers, lowest first (docs/api.md's code layout):

    0  base          atomic_files, write_safety, precision, processor, tensorflow_startup,
                     config_file, data/ (image reading and writing, pairs, synthesis)
    1  models        the network, its presets and the inference options they carry
    2  checkpoints   model folders, TF1 checkpoints, runners of exported files
    3  inference     deblurring images and files
    4  evaluation, export
    5  training      (uses evaluation.metrics)
    6  serve, batch  the applications
    7  cli           the console scripts

The package root (srn_tf/__init__.py) is the public face: it may import anything, and
only the console scripts may import it (a library module importing `srn_tf` would
import every layer through it). The check reads the source (ast), so it sees imports
inside functions too, and needs nothing beyond the standard library.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "srn_tf"
LAYERS = {
    "srn_tf.atomic_files": 0, "srn_tf.write_safety": 0, "srn_tf.precision": 0,
    "srn_tf.processor": 0, "srn_tf.tensorflow_startup": 0, "srn_tf.config_file": 0,
    "srn_tf.data": 0,
    "srn_tf.models": 1,
    "srn_tf.checkpoints": 2,
    "srn_tf.inference": 3,
    "srn_tf.evaluation": 4, "srn_tf.export": 4,
    "srn_tf.training": 5,
    "srn_tf.serve": 6, "srn_tf.batch": 6,
    "srn_tf.cli": 7,
}
LAYER_NAMES = ("base", "models", "checkpoints", "inference", "evaluation/export", "training",
               "serve/batch", "cli")


def module_name(path):
    """'srn_tf.models.padding' for srn_tf/models/padding.py, 'srn_tf.models' for its
    __init__.py."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name):
    """Whether the dotted `name` is a module or package of this checkout."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(name):
    """The layer of module `name` (None for the package root), by its longest listed prefix.

    Raises:
        KeyError: a module in no listed layer (a new top-level module: give it one).
    """
    if name == PACKAGE:
        return None
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return LAYERS[prefix]
    raise KeyError(f"{name} is in no layer: add it to LAYERS in {__file__}")


def imported_modules(tree, importer, is_package):
    """(line, source text, module) for each srn_tf module that `tree` imports.

    `from srn_tf.x import y` imports srn_tf.x.y when y is a submodule, else srn_tf.x;
    relative imports are resolved against `importer`.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base
                     for alias in node.names]
        else:
            continue
        for name in dict.fromkeys(names):
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                found.append((node.lineno, ast.unparse(node), name))
    return found


def climbing_imports(package_folder):
    """'file:line: import (layer a imports layer b)' for each import of the package that
    climbs to a higher layer or reaches the package root from outside cli."""
    problems = []
    for path in sorted(package_folder.rglob("*.py")):
        importer = module_name(path)
        if importer == PACKAGE:
            continue  # the public face imports every layer
        own = layer_of(importer)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, text, name in imported_modules(tree, importer, path.name == "__init__.py"):
            where = f"{path.relative_to(ROOT)}:{line}: {text}"
            target = layer_of(name)
            if target is None and own != LAYERS["srn_tf.cli"]:
                problems.append(f"{where} (imports the package root; import the module "
                                "that defines the name)")
            elif target is not None and target > own:
                problems.append(f"{where} ({LAYER_NAMES[own]} imports "
                                f"{LAYER_NAMES[target]}, a higher layer)")
    return problems


def test_no_import_of_the_package_climbs_to_a_higher_layer():
    problems = climbing_imports(ROOT / PACKAGE)
    assert not problems, "imports that climb back up the layers:\n" + "\n".join(problems)


def test_every_module_of_the_package_has_a_layer():
    for path in (ROOT / PACKAGE).rglob("*.py"):
        if module_name(path) != PACKAGE:
            assert layer_of(module_name(path)) is not None


@pytest.mark.parametrize("source,expected", [
    ("from srn_tf.inference.deblur import deblur_image", "inference, a higher layer"),
    ("def later():\n    from srn_tf.cli import common", "cli, a higher layer"),
    ("import srn_tf.export.graph", "evaluation/export, a higher layer"),
    ("from srn_tf import load_model", "imports the package root"),
    ("from .. import inference", "inference, a higher layer"),
])
def test_the_check_names_the_file_line_and_import_that_climbs(tmp_path, monkeypatch, source,
                                                              expected):
    # A checkpoints module of a copy of the package's layout, holding one bad import.
    folder = tmp_path / PACKAGE
    for package in ("", "checkpoints", "data", "inference", "cli", "export"):
        (folder / package).mkdir(exist_ok=True)
        (folder / package / "__init__.py").write_text("")
    (folder / "cli" / "common.py").write_text("")
    (folder / "export" / "graph.py").write_text("")
    (folder / "inference" / "deblur.py").write_text("")
    (folder / "checkpoints" / "loading.py").write_text("import os\n\n" + source + "\n")
    (folder / "checkpoints" / "fine.py").write_text(
        "from srn_tf.models.padding import pad_to_multiple\nfrom srn_tf import data\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (problem,) = climbing_imports(folder)
    assert problem.startswith(f"srn_tf/checkpoints/loading.py:{3 + source.count(chr(10))}: ")
    assert expected in problem


def test_tests_never_import_benchmarks():
    # Benchmarks may import the package and tests may not import benchmarks: what a test
    # needs lives in the package (library behaviour) or in a tests/ helper.
    problems = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "benchmarks" or name.startswith("benchmarks.") for name in names):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not problems, "tests that import benchmarks/:\n" + "\n".join(problems)
