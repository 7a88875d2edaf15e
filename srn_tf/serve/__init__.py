"""srn-serve: a local web page and HTTP API that deblur photos with one model.

    app.py      the FastAPI application: the page's static files and the /api routes
    jobs.py     the job store and the single model worker thread with its bounded queue
    uploads.py  streaming multipart uploads, size-limited, into a private folder
    server.py   uvicorn on a socket bound before the model loads, stopped by Ctrl-C
    static/     the page (plain HTML, CSS and JavaScript, no build step, no CDN)

It needs the optional extra `pip install 'srn-tf[serve]'` (fastapi, uvicorn,
python-multipart); `missing_dependencies` tells what is absent without importing it.
"""

import importlib.util

# Import name -> the distribution to install.
DEPENDENCIES = {"fastapi": "fastapi", "uvicorn": "uvicorn", "python_multipart": "python-multipart"}

INSTALL_HINT = "pip install 'srn-tf[serve]'"


def missing_dependencies():
    """The distributions srn-serve needs that are not installed, in install order."""
    return [package for module, package in DEPENDENCIES.items()
            if importlib.util.find_spec(module) is None]


def missing_message(missing):
    """The one-line error for missing dependencies."""
    return f"srn-serve needs {', '.join(missing)}: {INSTALL_HINT}"
