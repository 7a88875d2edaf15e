"""The CPU a benchmark ran on, for its JSON: docs/ name each figure's machine."""

import subprocess

from srn_tf.processor import usable_cpus


def cpu_model_name():
    """lscpu's "Model name" (e.g. "Intel(R) Xeon(R) Processor"), or "unknown"."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return "unknown"


def machine():
    """{"cpu": lscpu's model name, "cpus": the CPUs this process may run on}."""
    return {"cpu": cpu_model_name(), "cpus": usable_cpus()}
