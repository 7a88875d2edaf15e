#!/bin/sh
# Entry point of the srn-tf image: runs the command given (an srn-* console script
# such as srn-train, or any program); with no command, lists the srn-* commands.
set -e
if [ "$#" -eq 0 ]; then
    echo "usage: docker run [docker options] IMAGE COMMAND [flags]"
    echo "srn-tf commands (each explains its flags with --help):"
    python3 -c "
from importlib.metadata import entry_points
for script in sorted(entry_points(group='console_scripts'), key=lambda script: script.name):
    if script.value.startswith('srn_tf.'):
        print('  ' + script.name)
"
    exit 0
fi
exec "$@"
