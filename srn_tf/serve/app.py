"""The srn-serve application: the page and the HTTP API (docs/serve.md lists every route).

    GET    /                              the page (static/index.html)
    GET    /api/status                    the model, the queue, the measured speed
    POST   /api/deblur                    multipart `image` (+ `strength`) -> the image
    POST   /api/jobs                      multipart `image` -> 202 {"id": ..., ...}
    POST   /api/videos                    multipart `video` -> 202 {"id": ..., ...}
    GET    /api/jobs                      every job's status
    GET    /api/jobs/{id}                 one job's status and ETA
    GET    /api/jobs/{id}/result          ?strength= -> the image, input's format (a
                                          video: the video, its container, strength 1)
    GET    /api/jobs/{id}/preview/{which} input | result as an 8-bit PNG, for the page
                                          (photos only)
    DELETE /api/jobs/{id}                 forget a job and its files
    GET    /api/results.zip               ?jobs=ID[:STRENGTH],... -> a zip of results

Errors are JSON {"error": "..."}: 400 a bad image or argument, 403 a request from
another site, 404 no such job, 409 not done, 413 over --max_upload_mb or an image of
more pixels than --max_megapixels (a video: over --max_video_mb, longer than
--max_video_seconds or of bigger frames), 501 a video where PyAV is not installed, 503
the queue is full or the server is stopping.
"""

import contextlib
import importlib.resources
import os
import re
import urllib.parse

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from srn_tf.inference.strength import check_strength
from srn_tf.serve.jobs import BadImage, NotReady, QueueFull, Stopping
from srn_tf.serve.uploads import UploadError, receive_upload

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_JOB_ID = re.compile(r"^[0-9a-f]{16}$")


def static_folder():
    """The folder of the page's files inside the installed package."""
    return str(importlib.resources.files("srn_tf.serve") / "static")


def error(status, message):
    return JSONResponse({"error": message}, status_code=status)


def _host_of(value):
    """The host part of a Host header or an origin's netloc, brackets and port dropped."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class _SameSiteOnly:
    """Refuses requests another web site's page could make through the user's browser.

    With `local_only` the Host header must name this machine (a DNS-rebinding
    page sends its own host name). A request with an Origin header other than
    this server's own (a page elsewhere posting to it) is refused; scripts send
    none and pass.
    """

    def __init__(self, app, local_only):
        self.app = app
        self.local_only = local_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.local_only and _host_of(host) not in LOOPBACK_HOSTS:
            response = error(403, f"this server answers requests to {', '.join(LOOPBACK_HOSTS)} "
                                  "only (it was started with a loopback --host)")
            return await response(scope, receive, send)
        origin = headers.get("origin")
        if origin is not None:
            parsed = urllib.parse.urlsplit(origin)
            if parsed.scheme not in ("http", "https") or parsed.netloc.lower() != host.lower():
                response = error(403, "cross-origin requests are refused")
                return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def create_app(service, max_upload_bytes, local_only=True, max_video_bytes=200 * 2**20):
    """The FastAPI application serving `service` (a started or unstarted `DeblurService`).

    The application starts the service's worker when it starts and closes the
    service (its private folder removed) when it stops.

    Args:
        service: a `srn_tf.serve.jobs.DeblurService`.
        max_upload_bytes: the largest image accepted (413 above).
        max_video_bytes: the largest video accepted (413 above); videos are taken
            where the service has a `run_video`.
        local_only: answer only requests whose Host is this machine (a loopback bind).
    """

    @contextlib.asynccontextmanager
    async def lifespan(_):
        service.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.close)

    app = FastAPI(title="srn-serve", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.add_middleware(_SameSiteOnly, local_only=local_only)

    @app.exception_handler(HTTPException)
    async def http_error(_, exception):
        return error(exception.status_code, str(exception.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_, exception):
        return error(400, "; ".join(str(item.get("msg")) for item in exception.errors()))

    def find(job_id):
        job = service.job(job_id) if _JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    async def upload_job(request, read_fields=None, video=False):
        """Receives and queues one upload, an image (or with `video` a video): (job,
        `read_fields(fields)`), or (None, an error response). `read_fields` checks the
        form's text fields before the file is queued (ValueError: 400)."""
        if service.stopping:
            return None, error(503, "the server is stopping")
        try:
            if video:
                upload = await receive_upload(request, service.folder, max_video_bytes,
                                              "video", "max_video_mb")
            else:
                upload = await receive_upload(request, service.folder, max_upload_bytes)
        except UploadError as refused:
            return None, error(refused.status, refused.message)
        try:
            fields = read_fields(upload.fields) if read_fields else upload.fields
        except ValueError as bad:
            os.remove(upload.path)
            return None, error(400, str(bad))
        try:
            job = await run_in_threadpool(service.submit_video if video else service.submit,
                                          upload)
        except BadImage as bad:
            return None, error(bad.status, str(bad))
        except (QueueFull, Stopping) as full:
            return None, error(503, str(full))
        return job, fields

    def job_body(job):
        status = service.job_status(job)
        status["status_url"] = f"/api/jobs/{job.id}"
        status["result_url"] = f"/api/jobs/{job.id}/result"
        return status

    def file_response(path, job, strength, background=None):
        return FileResponse(path, media_type=job.content_type, background=background,
                            filename=job.download_name(strength))

    @app.get("/api/status")
    async def status():
        body = service.status()
        body["max_upload_mb"] = max_upload_bytes / 2**20
        body["videos"] = service.run_video is not None
        body["max_video_mb"] = max_video_bytes / 2**20
        body["max_video_seconds"] = service.max_video_seconds
        return body

    @app.post("/api/deblur")
    async def deblur(request: Request):
        def read_strength(fields):
            value = fields.get("strength", request.query_params.get("strength"))
            return check_strength(1.0 if value in (None, "") else value)

        job, strength = await upload_job(request, read_strength)
        if job is None:
            return strength
        try:
            await service.wait(job)
        except BaseException:
            service.delete(job)  # the client went away: the job goes too
            raise
        if job.state != "done":
            service.delete(job)
            return error(503 if job.state == "cancelled" else 500, job.error)
        try:
            path = await run_in_threadpool(service.result_file, job, strength)
        except BaseException:
            service.delete(job)
            raise
        return file_response(path, job, strength, BackgroundTask(service.delete, job))

    @app.post("/api/jobs", status_code=202)
    async def create_job(request: Request):
        job, fields = await upload_job(request)
        if job is None:
            return fields
        return JSONResponse(job_body(job), status_code=202)

    @app.post("/api/videos", status_code=202)
    async def create_video_job(request: Request):
        if service.run_video is None:
            return error(501, "this server takes no videos: they need PyAV (pip install "
                              "'srn-tf[video]'), then a restart")
        job, fields = await upload_job(request, video=True)
        if job is None:
            return fields
        return JSONResponse(job_body(job), status_code=202)

    @app.get("/api/jobs")
    async def list_jobs():
        return {"jobs": [job_body(job) for job in service.jobs()]}

    @app.get("/api/jobs/{job_id}")
    async def get_job(job_id: str):
        return job_body(find(job_id))

    @app.get("/api/jobs/{job_id}/result")
    async def get_result(job_id: str, strength: str = "1"):
        job = find(job_id)
        try:
            value = check_strength(strength)
            path = await run_in_threadpool(service.result_file, job, value)
        except ValueError as bad:
            return error(400, str(bad))
        except NotReady as waiting:
            return error(409, str(waiting))
        return file_response(path, job, value)

    @app.get("/api/jobs/{job_id}/preview/{which}")
    async def get_preview(job_id: str, which: str):
        job = find(job_id)
        if which not in ("input", "result"):
            return error(404, f"no preview {which!r} (input or result)")
        if job.kind == "video":
            return error(404, "a video has no preview; its result is "
                              f"/api/jobs/{job.id}/result")
        try:
            path = await run_in_threadpool(service.preview_file, job, which)
        except NotReady as waiting:
            return error(409, str(waiting))
        return FileResponse(path, media_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    @app.delete("/api/jobs/{job_id}")
    async def delete_job(job_id: str):
        job = find(job_id)
        service.delete(job)
        return {"deleted": job.id}

    @app.get("/api/results.zip")
    async def results_zip(jobs: str = "", strength: str = "1"):
        try:
            default = check_strength(strength)
            items = []
            for item in filter(None, jobs.split(",")):
                job_id, _, value = item.partition(":")
                items.append((find(job_id), check_strength(value) if value else default))
        except ValueError as bad:
            return error(400, str(bad))
        if not jobs:
            items = [(job, default) for job in service.jobs() if job.state == "done"]
        if not items:
            return error(409, "no finished results")
        try:
            path = await run_in_threadpool(service.zip_file, items)
        except NotReady as waiting:
            return error(409, str(waiting))
        return FileResponse(path, media_type="application/zip", filename="deblurred.zip",
                            background=BackgroundTask(os.remove, path))

    app.mount("/", StaticFiles(directory=static_folder(), html=True), name="page")
    return app
