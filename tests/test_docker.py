"""The Dockerfile and README's Docker commands agree with the repository.

No Docker engine runs in CI, so the image is never built here; these tests check
what can go stale without one: the base image's TensorFlow tag against
setup.py's pin, each `docker run` command in README.md against the flagfiles and
console scripts that exist, and the entry point and requirement filter the
image runs.
"""

import ast
import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTAINER_REPO = "/srn-tf"  # where the Dockerfile copies the repository
sys.path.insert(0, os.path.join(REPO, "docker"))

from requirements_without_tensorflow import requirements_without_tensorflow  # noqa: E402


def read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as handle:
        return handle.read()


# --- Parsing ----------------------------------------------------------------

def setup_facts(source):
    """(TENSORFLOW_VERSION, console script names, plain install_requires) from setup.py text."""
    tree = ast.parse(source)
    version = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                   and getattr(node.targets[0], "id", None) == "TENSORFLOW_VERSION")
    setup_call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                      and getattr(node.func, "id", None) == "setup")
    keywords = {keyword.arg: keyword.value for keyword in setup_call.keywords}
    entry_points = ast.literal_eval(keywords["entry_points"])
    scripts = {line.split("=")[0].strip() for line in entry_points["console_scripts"]}
    requires = [element.value for element in keywords["install_requires"].elts
                if isinstance(element, ast.Constant)]
    return version, scripts, requires


def base_images(dockerfile, **build_args):
    """The FROM images a Dockerfile resolves to, with ARG defaults overridden by `build_args`."""
    values, images = {}, []
    for line in dockerfile.splitlines():
        words = line.split(None, 1)
        if not words:
            continue
        if words[0] == "ARG" and "=" in words[1]:
            name, default = words[1].strip().split("=", 1)
            values.setdefault(name, build_args.get(name, default))
        elif words[0] == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)],
                           words[1].split()[0])
            images.append(image)
    return images


def shell_commands(markdown):
    """Every command in the fenced code blocks of `markdown`, continuation lines joined."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.M | re.S):
        commands += [line.strip() for line in block.replace("\\\n", " ").splitlines()
                     if line.strip() and not line.strip().startswith("#")]
    return commands


def docker_runs(markdown):
    """[(image, command, its arguments)] of each `docker run` in `markdown`.

    The image is the first argument named by a `docker build -t` in the same text.
    """
    commands = [shlex.split(command, comments=True) for command in shell_commands(markdown)
                if command.startswith("docker ")]
    images = {words[i + 1] for words in commands if words[:2] == ["docker", "build"]
              for i, word in enumerate(words[:-1]) if word in ("-t", "--tag")}
    runs = []
    for words in commands:
        if words[:2] == ["docker", "run"]:
            start = next((i for i, word in enumerate(words) if word in images), None)
            assert start is not None, f"{' '.join(words)}: runs no image a docker build -t made"
            runs.append((words[start], words[start + 1] if start + 1 < len(words) else None,
                         words[start + 2:]))
    return runs


def flagfiles(arguments):
    """Repository paths of the `--flagfile=` container paths among `arguments`."""
    paths = []
    for argument in arguments:
        if argument.startswith("--flagfile="):
            path = argument.split("=", 1)[1]
            assert path.startswith(CONTAINER_REPO + "/"), f"{path}: not inside {CONTAINER_REPO}"
            paths.append(os.path.relpath(path, CONTAINER_REPO))
    return paths


EXAMPLE_README = """
```bash
docker build -t srn-tf .
docker run --gpus all -v "$PWD/data:/data" srn-tf \\
    srn-train --flagfile=/srn-tf/flags/a.cfg --strategy=mirrored
```
```bash
# a comment
docker run --rm -v data:/data srn-tf:cpu srn-deblur --input=/data/x  # no build for this tag
```
"""


def test_parsers_read_builds_runs_and_flagfiles():
    assert docker_runs(EXAMPLE_README.replace("srn-tf:cpu", "srn-tf")) == [
        ("srn-tf", "srn-train", ["--flagfile=/srn-tf/flags/a.cfg", "--strategy=mirrored"]),
        ("srn-tf", "srn-deblur", ["--input=/data/x"]),
    ]
    assert flagfiles(["--flagfile=/srn-tf/flags/a.cfg", "--x=1"]) == ["flags/a.cfg"]
    with pytest.raises(AssertionError, match="runs no image"):
        docker_runs(EXAMPLE_README)
    dockerfile = "ARG V=1.0\nARG S=-gpu\nFROM base:${V}${S}\nARG V\nRUN x\n"
    assert base_images(dockerfile) == ["base:1.0-gpu"]
    assert base_images(dockerfile, S="") == ["base:1.0"]


def test_setup_facts_are_read_from_setup_py():
    version, scripts, requires = setup_facts(read("setup.py"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert {"srn-convert", "srn-synth"} <= scripts
    assert "opencv-python-headless" in requires and not any("tensorflow" in r for r in requires)


# --- The repository ------------------------------------------------------------

def test_dockerfile_base_image_is_the_tensorflow_version_setup_py_pins():
    version, _, _ = setup_facts(read("setup.py"))
    dockerfile = read("Dockerfile")
    assert base_images(dockerfile) == [f"tensorflow/tensorflow:{version}-gpu"]
    assert base_images(dockerfile, VARIANT="") == [f"tensorflow/tensorflow:{version}"]


def test_readme_docker_commands_name_existing_flagfiles_and_console_scripts():
    _, scripts, _ = setup_facts(read("setup.py"))
    runs = docker_runs(read("README.md"))
    assert runs, "README.md shows no docker run command"
    for image, command, arguments in runs:
        if command is None:  # the entry point lists the commands
            continue
        assert command in scripts, f"docker run {image} {command}: not a console script"
        for path in flagfiles(arguments):
            assert os.path.isfile(os.path.join(REPO, path)), f"{path}: no such flagfile"
    trainings = [arguments for _, command, arguments in runs if command == "srn-train"]
    assert any(flagfiles(arguments) == ["flags/gopro.cfg"] for arguments in trainings)
    assert any("--strategy=mirrored" in arguments for arguments in trainings)
    assert "srn-deblur" in {command for _, command, _ in runs}


DEFINED_FLAG = r"flags\.DEFINE_\w+\(\s*\"(\w+)\""


def defined_flags(script, scripts_to_modules):
    """Flag names a console script's module defines, read from its source (no import):
    its own DEFINE_* calls and those of the cli/common.py helpers it calls."""
    module = scripts_to_modules[script]
    source = read(module.replace(".", "/") + ".py")
    names = set(re.findall(DEFINED_FLAG, source))
    common = read("srn_tf/cli/common.py")
    for helper in re.findall(r"^(define_\w+_flags)\(", source, re.M):
        body = re.search(rf"^def {helper}\(.*?(?=^def |\Z)", common, re.S | re.M).group(0)
        names |= set(re.findall(DEFINED_FLAG, body))
    return names


def test_readme_docker_commands_use_flags_their_scripts_define():
    entry_points = ast.literal_eval(next(
        keyword.value for node in ast.walk(ast.parse(read("setup.py")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup"
        for keyword in node.keywords if keyword.arg == "entry_points"))
    scripts_to_modules = {line.split("=")[0].strip(): line.split("=")[1].split(":")[0].strip()
                          for line in entry_points["console_scripts"]}
    for image, command, arguments in docker_runs(read("README.md")):
        if command is None:
            continue
        known = defined_flags(command, scripts_to_modules) | {"flagfile"}
        for argument in arguments:
            if argument.startswith("--"):
                name = argument[2:].split("=", 1)[0]
                assert name in known or (name.startswith("no") and name[2:] in known), (
                    f"docker run {image} {command}: {command} has no flag --{name}")


def test_readme_shows_the_cpu_build():
    builds = [command for command in shell_commands(read("README.md"))
              if command.startswith("docker build")]
    assert any("--build-arg VARIANT= " in command for command in builds)


def test_docker_context_keeps_the_source_and_drops_environments_and_data():
    ignored = {line.strip() for line in read(".dockerignore").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "runs", "checkpoints", "data", "**/__pycache__"} <= ignored
    # setup.py reads README.md; the image needs the package, flagfiles and docker/.
    assert not ignored & {"README.md", "setup.py", "srn_tf", "flags", "docker", "*.md", "*.py"}


# --- What the image runs --------------------------------------------------------

def run_entrypoint(*args):
    environment = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
                       + os.environ.get("PATH", ""))
    return subprocess.run(["sh", os.path.join(REPO, "docker", "entrypoint.sh"), *args],
                          capture_output=True, text=True, env=environment, timeout=120)


def test_entrypoint_without_a_command_lists_the_console_scripts():
    _, scripts, _ = setup_facts(read("setup.py"))
    result = run_entrypoint()
    assert result.returncode == 0, result.stderr
    listed = {line.strip() for line in result.stdout.splitlines() if line.startswith("  ")}
    assert listed == scripts


def test_entrypoint_runs_the_command_it_is_given():
    result = run_entrypoint("srn-synth", "--sharp_dir=/nonexistent", "--output_dir=/tmp/x")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: /nonexistent: no such folder"


def test_image_requirements_are_setup_py_s_without_tensorflow_or_test_tools():
    _, _, requires = setup_facts(read("setup.py"))
    assert requirements_without_tensorflow("srn-tf") == requires
