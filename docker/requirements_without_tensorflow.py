"""Prints an installed distribution's requirements, one a line, minus TensorFlow and extras.

The Docker image installs srn-tf with --no-deps on top of the official TensorFlow
image, then these requirements, so pip never pulls a second TensorFlow.

    python3 docker/requirements_without_tensorflow.py srn-tf > requirements.txt
"""

import re
import sys
from importlib.metadata import requires

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def requirements_without_tensorflow(distribution):
    """Requirement strings of `distribution`, without TensorFlow and without extras' ones."""
    kept = []
    for requirement in requires(distribution) or []:
        if "extra ==" in requirement:
            continue
        name = NAME.match(requirement).group(0).lower().replace("_", "-")
        if name != "tensorflow":
            kept.append(requirement)
    return kept


if __name__ == "__main__":
    print("\n".join(requirements_without_tensorflow(sys.argv[1])))
