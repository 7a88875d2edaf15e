"""srn-train as users run it: flagfiles, bad input, and interruption by signals."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from srn_tf.data.pairs import PairListError
from srn_tf.training.trainer import TrainingConfig, train
from tests.pair_files import write_image, write_random_pairs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRN_TRAIN = os.path.join(os.path.dirname(sys.executable), "srn-train")
FLAGFILES = sorted(os.listdir(os.path.join(REPO, "flags")))
TINY_RUN = ["--model=color", "--base_filters=4", "--blocks_per_stage=1", "--batch_size=2",
            "--crop_size=32", "--seed=5", "--shuffle", "--augment", "--log_every=1",
            "--summary_every=1000"]


def _parsed(argv):
    """Parses srn-train's flags in-process; returns {flag: value}, then resets them."""
    from srn_tf.cli import train as train_cli  # defines the flags

    values = train_cli.FLAGS
    try:
        values(["srn-train", "--checkpoint_dir=unused", *argv])
        return {name: values[name].value for name in TrainingConfig.__dataclass_fields__}
    finally:
        values.unparse_flags()


@pytest.mark.parametrize("model", ["color", "gray", "lstm"])
def test_the_gopro_flagfile_reproduces_the_release_recipe_for_each_model(model):
    values = _parsed([f"--flagfile={REPO}/flags/gopro.cfg", f"--model={model}"])
    release = {"model": model, "datalist": "datalist_gopro.txt", "batch_size": 16,
               "crop_size": 256, "epoch": 4000, "max_steps": None, "lr": 1e-4,
               "lr_schedule": "polynomial", "lr_power": 0.3, "shuffle": True,
               "augment": False, "base_filters": 32, "blocks_per_stage": 3, "kernel_size": 5,
               "residual_output": False, "zero_init_output": False,
               "mixed_precision": "float32", "checkpoint_every": 1000, "summary_every": 20}
    assert {k: values[k] for k in release} == release
    # The defaults are the release's too, so the flagfile only makes them explicit.
    defaults = TrainingConfig()
    assert all(getattr(defaults, k) == v for k, v in release.items()
               if k not in ("model", "datalist"))


def test_every_flagfile_starts_with_the_command_that_uses_it():
    for name in FLAGFILES:
        with open(os.path.join(REPO, "flags", name)) as handle:
            comments = [line for line in handle if line.startswith("#")]
            handle.seek(0)
            assert handle.readline().startswith("# "), name
        assert any(f"srn-train --flagfile=flags/{name}" in line for line in comments), name


@pytest.mark.parametrize("name", FLAGFILES)
def test_every_flagfile_is_valid_srn_train_flags(name, monkeypatch):
    # Paths in flagfiles are relative to the repository, as their commands are run.
    monkeypatch.chdir(REPO)
    values = _parsed([f"--flagfile=flags/{name}"])
    assert values["model"] in ("color", "gray", "lstm") and values["lr"] > 0, name


ARCHITECTURE = ("base_filters", "blocks_per_stage", "kernel_size", "residual_output",
                "zero_init_output")


def _bundled_architecture():
    with open(os.path.join(REPO, "srn_tf", "models", "presets", "default",
                           "srn_config.json")) as handle:
        config = json.load(handle)
    return {"model": config["model_type"], **{k: config["model"][k] for k in ARCHITECTURE}}


def test_the_finetuning_flagfile_starts_from_the_bundled_model_with_its_architecture(
        monkeypatch):
    monkeypatch.chdir(REPO)
    values = _parsed(["--flagfile=flags/finetune_default.cfg"])
    from srn_tf.models.presets import resolve_model_path
    assert values["init_checkpoint"] == "default"  # the preset's name: works from any folder
    assert os.path.isfile(os.path.join(resolve_model_path("default"), "srn_config.json"))
    assert {k: values[k] for k in ("model", *ARCHITECTURE)} == _bundled_architecture()


def _dry_run_of_the_rebuild_script(tmp_path):
    """Runs tools/rebuild_default_model.sh in a copy of its files with srn-synth,
    srn-train and python replaced by stubs that log their arguments (srn-synth also
    writes the files later commands read); returns [(command, [arguments])]."""
    repo = tmp_path / "repo"
    for path in ("tools/rebuild_default_model.sh", "flags/default_model.cfg"):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(open(os.path.join(REPO, path)).read())
    stubs = tmp_path / "bin"
    stubs.mkdir()
    log = tmp_path / "log"
    logger = 'printf "%s\\0" "$(basename "$0")" "$@" >> "$LOG"; printf "\\n" >> "$LOG"\n'
    (stubs / "srn-synth").write_text(
        "#!/bin/bash\n" + logger + 'for a in "$@"; do case $a in --output_dir=*) d=${a#*=};; '
        'esac; done\nmkdir -p "$d"\nfor f in train_list.txt test_list.txt; do\n'
        '  echo "x/coffee/s.png x/coffee/b.png" > "$d/$f"; done\necho {} > "$d/synth_config.json"\n')
    for name in ("srn-train", "python"):
        (stubs / name).write_text("#!/bin/bash\n" + logger)
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    result = subprocess.run(["bash", str(repo / "tools" / "rebuild_default_model.sh")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "LOG": str(log),
                                 "PATH": f"{stubs}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    calls = [line.split("\0") for line in log.read_text().split("\0\n") if line]
    return repo, [(call[0], call[1:]) for call in calls]


def test_the_rebuild_script_runs_one_chain_of_steps_ending_in_the_bundled_model(tmp_path):
    repo, calls = _dry_run_of_the_rebuild_script(tmp_path)
    steps = [arguments for command, arguments in calls if command == "srn-train"]
    assert len(steps) == 8
    made = set()  # run folders written so far (steps, the float16 copy, the average)
    for index, arguments in enumerate(steps):
        assert arguments[0] == "--flagfile=flags/default_model.cfg"
        values = _parsed([f"--flagfile={REPO}/flags/default_model.cfg", *arguments[1:]])
        assert os.path.isfile(repo / values["datalist"]), values["datalist"]
        assert os.path.isfile(repo / values["validation_datalist"])
        if index == 0:
            assert values["init_checkpoint"] is None  # from the identity
        else:
            assert values["init_checkpoint"] in made, (index, values["init_checkpoint"])
            assert steps[index - 1] != arguments
        made.add(values["checkpoint_dir"])
        # The copies and the average between steps, from the steps before them.
        for command, other in calls[calls.index(("srn-train", arguments)) + 1:]:
            if command == "srn-train":
                break
            if "tools/interpolate_weights.py" in other:
                flags_of = dict(a[2:].split("=", 1) for a in other[1:])
                assert {flags_of["start"], flags_of["end"]} <= made
                made.add(flags_of["output"])
            elif other[0] == "-c":
                made.add(other[1].split("'")[3])
    assert {k: values[k] for k in ("model", *ARCHITECTURE)} == _bundled_architecture()
    command, bundle = calls[-1]
    assert (command, bundle[0]) == ("python", "tools/bundle_default_model.py")
    assert f"--run_dir={values['checkpoint_dir']}" in bundle


def test_mixed_precision_takes_the_precision_words_and_the_former_policy_names(tmp_path):
    assert [_parsed([f"--mixed_precision={value}"])["mixed_precision"] for value in
            ("float32", "bfloat16", "float16", "mixed_bfloat16", "mixed_float16")] == [
        "float32", "bfloat16", "float16", "bfloat16", "float16"]
    (tmp_path / "old.cfg").write_text("--mixed_precision=mixed_float16\n")
    assert _parsed([f"--flagfile={tmp_path}/old.cfg"])["mixed_precision"] == "float16"
    with pytest.raises(flags.IllegalFlagValueError,
                       match="should be one of <float32[|]bfloat16[|]float16>"):
        _parsed(["--mixed_precision=half"])


def test_a_command_line_flag_overrides_the_flagfile():
    values = _parsed([f"--flagfile={REPO}/flags/cpu_smoke.cfg", "--max_steps=7", "--lr=0.25"])
    assert (values["max_steps"], values["lr"], values["base_filters"]) == (7, 0.25, 8)


def _run(args, **kwargs):
    return subprocess.run([SRN_TRAIN, *args], capture_output=True, text=True, timeout=300,
                          **kwargs)


def test_stop_at_step_saves_there_and_a_rerun_without_it_finishes(tmp_path):
    list_path, _, _ = write_random_pairs(str(tmp_path), 4, 48, 48)
    run = [f"--datalist={list_path}", f"--checkpoint_dir={tmp_path}/run", "--max_steps=4",
           *TINY_RUN]
    stopped = _run([*run, "--stop_at_step=2"])
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert "stopped at step 2 as asked" in stopped.stdout
    assert stopped.stdout.startswith(("running on CPU (", "running on GPU: "))
    assert tf.train.latest_checkpoint(f"{tmp_path}/run").endswith("ckpt-2")
    finished = _run(run)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "finished: 5 updates" in finished.stdout
    assert "resuming" in finished.stderr and "step 2" in finished.stderr


def test_bad_pairs_are_all_reported_before_the_first_step(tmp_path):
    list_path, _, _ = write_random_pairs(str(tmp_path), 2, 32, 32)
    write_image(str(tmp_path / "tall.png"), np.zeros((48, 32, 3), np.uint8))
    write_image(str(tmp_path / "small.png"), np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    with open(list_path, "a") as handle:
        handle.write("missing.png blur_0.png\ntall.png blur_1.png\nsmall.png small.png\n"
                     "sharp_0.png broken.png\n")
    result = _run([f"--datalist={list_path}", f"--checkpoint_dir={tmp_path}/run", *TINY_RUN])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    report = lines[lines.index(next(l for l in lines if l.startswith("error: 4 problem(s)"))):]
    assert report[0] == f"error: 4 problem(s) in {list_path}"
    assert sorted(line.split(": ")[1] for line in report[1:]) == [
        "is 16x16, smaller than the 32x32 crop", "is 32x32 but its sharp image "
        f"{tmp_path}/tall.png is 48x32", "no such file",
        "not a PNG, JPEG, BMP, WebP or TIFF image (unrecognised or corrupt header)"]
    assert tf.train.latest_checkpoint(f"{tmp_path}/run") is None


def test_an_empty_list_is_a_clear_error_before_tensorflow_work(tmp_path):
    (tmp_path / "list.txt").write_text("")
    config = TrainingConfig(datalist=str(tmp_path / "list.txt"),
                            checkpoint_dir=str(tmp_path / "run"))
    with pytest.raises(PairListError, match=f"{tmp_path}/list.txt: lists no image pairs"):
        train(config)
    assert not os.path.exists(tmp_path / "run")


def _wait_for(predicate, process, timeout=240):
    deadline = time.time() + timeout
    while not predicate():
        assert process.poll() is None, "srn-train ended before the expected point"
        assert time.time() < deadline, "timed out waiting for srn-train"
        time.sleep(0.05)


def _final_values(folder):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(folder))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"))}


@pytest.mark.slow
def test_kill_9_and_sigterm_then_rerun_ends_with_the_uninterrupted_weights(tmp_path):
    list_path, _, _ = write_random_pairs(str(tmp_path / "pairs"), 5, 48, 48, seed=2)
    common = [f"--datalist={list_path}", *TINY_RUN, "--max_steps=24", "--checkpoint_every=4"]
    interrupted = str(tmp_path / "interrupted")
    command = [SRN_TRAIN, *common, f"--checkpoint_dir={interrupted}"]
    log = open(tmp_path / "log.txt", "w+")
    straight = subprocess.Popen([SRN_TRAIN, *common, f"--checkpoint_dir={tmp_path}/straight"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # kill -9 just after the first checkpoint: nothing is saved on the way out.
    first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    _wait_for(lambda: tf.train.latest_checkpoint(interrupted) is not None, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    # SIGTERM mid-run: the current step finishes, a checkpoint is saved, exit 1.
    second = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    _wait_for(lambda: "step 13/24" in open(log.name).read(), second)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=120) == 1
    assert "stopped by SIGTERM" in open(log.name).read()
    assert "resuming" in open(log.name).read()
    stopped_at = int(tf.train.latest_checkpoint(interrupted).rsplit("-", 1)[1])
    assert 14 <= stopped_at < 25

    third = _run(common + [f"--checkpoint_dir={interrupted}"])
    assert third.returncode == 0, third.stderr[-2000:]
    assert "finished: 25 updates" in third.stdout
    assert straight.wait(timeout=240) == 0
    expected = _final_values(str(tmp_path / "straight"))
    got = _final_values(interrupted)
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
