"""tools/plot_learning_curve.py joins the stages of a run continued with --init_checkpoint."""

import importlib.util
import os

import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tool():
    """The tool as a module; the absl flags it defines are removed afterwards, so that
    the console scripts' modules can define theirs in the same test process."""
    from absl import flags

    before = set(flags.FLAGS)
    spec = importlib.util.spec_from_file_location(
        "plot_learning_curve", os.path.join(REPO, "tools", "plot_learning_curve.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    for name in set(flags.FLAGS) - before:
        delattr(flags.FLAGS, name)


def _stage(folder, validations, last_checkpoint):
    """A run folder with validation/psnr summaries and a checkpoint numbered last_checkpoint."""
    writer = tf.summary.create_file_writer(os.path.join(folder, "train"))
    with writer.as_default():
        for step, value in validations:
            tf.summary.scalar("validation/psnr", value, step=step)
    writer.flush()
    counter = tf.Variable(0)
    tf.train.Checkpoint(counter=counter).write(os.path.join(folder, f"ckpt-{last_checkpoint}"))
    with open(os.path.join(folder, "checkpoint"), "w") as handle:
        handle.write(f'model_checkpoint_path: "ckpt-{last_checkpoint}"\n')
    return str(folder)


def test_stages_follow_each_other_offset_by_the_previous_stage_checkpoint(tool, tmp_path):
    first = _stage(tmp_path / "one", [(10, 20.0), (20, 21.0)], last_checkpoint=23)
    second = _stage(tmp_path / "two", [(10, 22.0), (20, 23.5)], last_checkpoint=21)
    points, starts, end = tool.staged_points([first, second])
    assert starts == [23] and end == 23 + 21
    assert [step for step, _, _ in points] == [10, 20, 33, 43]
    assert [value for _, value, _ in points] == pytest.approx([20.0, 21.0, 22.0, 23.5])
    assert [stage for _, _, stage in points] == [0, 0, 1, 1]


def test_stages_continue_an_earlier_curve_from_its_end_step(tool, tmp_path):
    # The earlier stages' run folders are gone; their JSON places the new stage.
    third = _stage(tmp_path / "three", [(10, 24.0)], last_checkpoint=30)
    points, starts, end = tool.staged_points([third], offset=44)
    assert [step for step, _, _ in points] == [54] and starts == [] and end == 74


def test_an_earlier_curve_needs_its_end_step_after_its_last_point(tool, tmp_path):
    path = tmp_path / "curve.json"
    path.write_text('{"steps": [10, 20], "psnr": [20.0, 21.0], "gain": [0.1, 0.2], '
                    '"input_psnr": [19.9], "stage_starts": []}')
    with pytest.raises(SystemExit, match="has no end_step; give --previous_end_step"):
        tool.previous_curve(str(path))
    with pytest.raises(SystemExit, match="end_step 15 is before its last point"):
        tool.previous_curve(str(path), end_step=15)
    assert tool.previous_curve(str(path), end_step=23)["end_step"] == 23


def test_a_stage_without_validation_summaries_is_a_clear_error(tool, tmp_path):
    first = _stage(tmp_path / "one", [(10, 20.0)], last_checkpoint=10)
    empty = _stage(tmp_path / "two", [], last_checkpoint=5)
    with pytest.raises(SystemExit, match="two: no validation/psnr summaries"):
        tool.staged_points([first, empty])


def test_each_stage_is_measured_against_its_own_validation_list(tool, tmp_path):
    # Stages may validate on different data (a second stage on new pairs); each
    # gain must subtract the input PSNR of the list that stage was scored on.
    stages = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "flags.json").write_text(f'{{"validation_datalist": "{name}.txt"}}')
        stages.append(str(folder))
    tool.FLAGS(["plot_learning_curve", "--run_dir=unused", "--output=unused.png"])
    try:
        assert [tool.validation_datalist(stage) for stage in stages] == ["one.txt", "two.txt"]
        tool.FLAGS.validation_datalist = "both.txt"
        assert [tool.validation_datalist(stage) for stage in stages] == ["both.txt"] * 2
    finally:
        tool.FLAGS.unparse_flags()


def test_the_bundled_models_curve_continues_from_its_json(tool):
    # docs/default-model.md shows this curve; a new stage would continue it from here.
    path = os.path.join(REPO, "docs", "images", "default-model-learning-curve.json")
    assert os.path.isfile(path[:-len(".json")] + ".png")
    curve = tool.previous_curve(path)
    assert len(curve["steps"]) == len(curve["gain"]) == len(curve["psnr"]) > 0
    # One input PSNR per stage, a dashed line before each stage but the first.
    assert len(curve["input_psnr"]) == len(curve["stage_starts"]) + 1
    assert curve["stage_starts"] == sorted(curve["stage_starts"])
    assert curve["steps"][-1] <= curve["end_step"]
