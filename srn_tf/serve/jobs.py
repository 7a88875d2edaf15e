"""The job store and the one model worker thread of srn-serve.

Every upload becomes a `Job`: decoded at once (a bad file is refused there),
its pixels kept as .npy in the job's own folder inside the service's private
folder, then queued. One worker thread runs the model on one job at a time, in
arrival order; the queue of waiting jobs is bounded (`QueueFull` past it), so
memory stays bounded by one image in the model plus what waits on disk.

Results are handed out at any strength (`srn_tf.inference.strength`), encoded
in the input's format and bit depth with its EXIF and ICC metadata
(`image_io.write_image`), and cached per job. Times are measured: the seconds
per megapixel of the last images give each job's ETA.
"""

import asyncio
import collections
import os
import secrets
import shutil
import sys
import threading
import time
import traceback
import zipfile

import numpy as np

from srn_tf.data import image_io
from srn_tf.inference.strength import apply_strength, check_strength
from srn_tf.serve.uploads import CONTENT_TYPES, display_name, download_name, sniff_format

# The speed is the median seconds per megapixel of the last images (the median, so that
# an image that paid for tracing a new size does not count for long).
_RATE_WINDOW = 5
# Encoded results kept per job (one per strength asked for), oldest removed first.
_RESULTS_KEPT = 4
FINAL_STATES = ("done", "failed", "cancelled")


class BadImage(ValueError):
    """An upload that is not an image srn-serve can deblur: `status` is the HTTP status
    to answer with, 413 for an image of more pixels than the limit, else 400."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class QueueFull(RuntimeError):
    """The queue of waiting images is full (HTTP 503)."""


class Stopping(RuntimeError):
    """The service is stopping and takes no more images (HTTP 503)."""


class NotReady(RuntimeError):
    """A job's result was asked for before it was done (HTTP 409)."""


class QueuedUpload:
    """What `DeblurService` keeps of every upload, a photo's `Job` or a video's
    `VideoJob`: where its files are, what state it is in, and its times."""

    def __init__(self, job_id, folder, filename, extension):
        self.id = job_id
        self.folder = folder
        self.filename = filename
        self.name = display_name(filename)
        self.extension = extension
        self.state = "queued"
        self.error = None
        self.created = time.monotonic()
        self.started = None
        self.finished = None
        self.discard = False
        self.lock = threading.Lock()
        self._waiters = []

    def download_name(self, strength=1.0):
        """The client's name for the result at `strength` (a video's is whole: 1)."""
        suffix = "_deblurred" if strength == 1.0 else f"_deblurred_{round(strength * 100)}"
        return download_name(self.filename, self.extension, suffix)


class Job(QueuedUpload):
    """One image: its decoded size and metadata, and its results by strength."""

    kind = "image"

    def __init__(self, job_id, folder, filename, extension, image, metadata):
        super().__init__(job_id, folder, filename, extension)
        self.height, self.width, self.channels = image.shape
        self.bit_depth = 16 if image.dtype == np.uint16 else 8
        self.metadata = metadata
        self.megapixels = self.height * self.width / 1e6
        self.results = collections.OrderedDict()

    @property
    def input_file(self):
        return os.path.join(self.folder, "input.npy")

    @property
    def deblurred_file(self):
        return os.path.join(self.folder, "deblurred.npy")

    @property
    def content_type(self):
        return CONTENT_TYPES[self.extension]


class DeblurService:
    """Runs `run` (an image array -> its deblurred array) on uploaded images, and
    `run_video` on uploaded videos, one at a time.

    Args:
        run: the model, as a function of one (height, width, channels) array;
            `model_runner` makes it from a loaded model.
        folder: a private folder for uploads and results (the service removes
            it in `close`).
        max_queue: how many images may wait for the model.
        min_side: the smallest side the model takes (its size multiple).
        max_megapixels: the most pixels (millions) an upload may have, read from its
            header before decoding (--max_megapixels); more is refused with 413.
        description: what model runs, for /api/status.
        log: a file to print one line per finished image to, or None.
        memory_check: a function (upload path, its `ImageHeader`) that raises a
            one-line MemoryError when `run` would need more memory than is free
            (`memory_check_of`); the upload is then refused with 413. None: uploads
            are not checked.
        run_video: a function (input path, output path, on_frame) that deblurs a
            video (`videos.video_runner`), or None: no videos (`submit_video` refuses).
        max_video_seconds: the longest video accepted (413 above).
    """

    def __init__(self, run, folder, max_queue=32, min_side=16, description="", log=None,
                 max_megapixels=image_io.DEFAULT_MAX_MEGAPIXELS, memory_check=None,
                 run_video=None, max_video_seconds=60.0):
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1. Received: {max_queue}")
        self.run = run
        self.folder = folder
        self.max_queue = max_queue
        self.min_side = min_side
        self.max_megapixels = max_megapixels
        self.memory_check = memory_check
        self.run_video = run_video
        self.max_video_seconds = max_video_seconds
        self.description = description
        self.log = log
        self._jobs = {}
        self._waiting = collections.deque()
        self._reserved = 0
        self._running = None
        self._rates = collections.deque(maxlen=_RATE_WINDOW)
        self._stopping = False
        self._condition = threading.Condition()
        self._thread = None

    # ----------------------------------------------------------------- lifecycle

    def start(self):
        """Starts the worker thread (once)."""
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="srn-serve-model",
                                                daemon=True)
                self._thread.start()

    def stop(self):
        """Takes no more images and cancels those waiting; the image the model is on
        finishes, and its result is kept for whoever waits for it."""
        with self._condition:
            self._stopping = True
            while self._waiting:
                job = self._waiting.popleft()
                job.state = "cancelled"
                job.error = "the server stopped before this image ran"
                job.finished = time.monotonic()
                self._notify(job)
            self._condition.notify_all()

    def close(self, wait=True):
        """`stop`, wait for the worker to finish its image (unless not `wait`), and
        remove the private folder with everything in it."""
        self.stop()
        if wait and self._thread is not None:
            self._thread.join()
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def stopping(self):
        return self._stopping

    # ------------------------------------------------------------------- uploads

    def submit(self, upload):
        """Decodes an uploaded image and queues it (`_submit`)."""
        return self._submit(upload, self._decode)

    def submit_video(self, upload):
        """Probes an uploaded video and queues it (`_submit`): BadImage 400 for a file
        that is no video PyAV reads (or no container srn-serve writes back) and for
        frames under the model's smallest side, 413 for one longer than
        `max_video_seconds` or of frames above `max_megapixels`."""
        if self.run_video is None:
            os.remove(upload.path)
            raise BadImage("this server takes no videos", 400)
        return self._submit(upload, self._probe_video)

    def _submit(self, upload, make_job):
        """Makes a job of an uploaded file (`make_job(job id, folder, upload)`) and queues it.

        Args:
            upload: an `uploads.Upload` whose file is in the private folder; it is
                moved into the job's folder or removed.

        Returns:
            The queued `Job`.

        Raises:
            QueueFull, Stopping: no room (nothing is decoded then).
            BadImage: the file is not an image the model can take (status 400), or
                has more pixels than `max_megapixels` (413); one line that starts
                with the client's file name.
        """
        with self._condition:
            if self._stopping:
                os.remove(upload.path)
                raise Stopping("the server is stopping")
            if len(self._waiting) + self._reserved >= self.max_queue:
                os.remove(upload.path)
                raise QueueFull(f"the queue is full ({self.max_queue} images waiting); "
                                "try again later")
            self._reserved += 1
        job_id = secrets.token_hex(8)
        folder = os.path.join(self.folder, job_id)
        try:
            os.mkdir(folder, 0o700)
            job = make_job(job_id, folder, upload)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            with self._condition:
                self._reserved -= 1
            raise
        finally:
            if os.path.exists(upload.path):
                os.remove(upload.path)
        with self._condition:
            self._reserved -= 1
            if self._stopping:
                shutil.rmtree(folder, ignore_errors=True)
                raise Stopping("the server is stopping")
            self._jobs[job_id] = job
            self._waiting.append(job)
            self._condition.notify_all()
        return job

    def _decode(self, job_id, folder, upload):
        name = display_name(upload.filename)
        extension = sniff_format(upload.path)
        if extension is None:
            raise BadImage(f"{name}: not an image srn-serve reads (PNG, JPEG, BMP, TIFF or WebP)")
        path = os.path.join(folder, "upload" + extension)
        os.replace(upload.path, path)

        def refused(error, status=400):
            """BadImage with the client's name in place of the private path."""
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            if message.startswith(path):
                message = message[len(path):].lstrip(": ")
            return BadImage(f"{name}: {message}", status)

        try:
            # The pixel limit is told apart from other refusals: it answers 413.
            header = image_io.read_header(path)
            too_big = image_io.pixel_limit_error(path, header, self.max_megapixels)
            if too_big:
                raise refused(too_big, 413)
            if self.memory_check is not None:
                try:
                    self.memory_check(path, header)
                except MemoryError as error:  # the plan's refusal, before decoding
                    raise refused(error, 413) from None
            image, metadata = image_io.read_image_with_metadata(path, self.max_megapixels)
        except BadImage:
            raise
        except MemoryError as error:  # too big for this server's memory, as 413 says
            raise refused(f"out of memory decoding it ({error})", 413) from None
        except (OSError, ValueError) as error:
            raise refused(error) from None
        finally:
            os.remove(path)
        if min(image.shape[:2]) < self.min_side:
            from srn_tf.models.padding import too_small_message

            raise BadImage(f"{name}: "
                           f"{too_small_message(self.min_side, *image.shape[:2])}")
        np.save(os.path.join(folder, "input.npy"), image)
        return Job(job_id, folder, upload.filename, extension, image, metadata)

    def _probe_video(self, job_id, folder, upload):
        from srn_tf.models.padding import too_small_message
        from srn_tf.serve.videos import VideoJob, probe_upload

        name = display_name(upload.filename)
        try:
            info, extension = probe_upload(upload.path, upload.filename, self.max_video_seconds)
        except OverflowError as error:
            raise BadImage(f"{name}: {error}", 413) from None
        except ValueError as error:
            raise BadImage(f"{name}: {error}") from None
        megapixels = info.width * info.height / 1e6
        if megapixels > self.max_megapixels:
            raise BadImage(f"{name}: {info.width}x{info.height} frames ({megapixels:.1f} "
                           f"megapixels) are above the limit of {self.max_megapixels:g} "
                           "megapixels (--max_megapixels)", 413)
        if min(info.height, info.width) < self.min_side:
            raise BadImage(f"{name}: {too_small_message(self.min_side, info.height, info.width)}")
        job = VideoJob(job_id, folder, upload.filename, extension, info)
        os.replace(upload.path, job.input_file)
        return job

    # -------------------------------------------------------------------- worker

    def _work(self):
        while True:
            with self._condition:
                while not self._waiting and not self._stopping:
                    self._condition.wait()
                if not self._waiting:
                    return
                job = self._waiting.popleft()
                job.state = "running"
                job.started = time.monotonic()
                self._running = job
            self._run(job)
            with self._condition:
                self._running = None
                job.finished = time.monotonic()
                if job.state == "done":
                    self._rates.append((job.finished - job.started) / max(job.megapixels, 1e-3))
                self._notify(job)
                if job.discard:
                    self._forget(job)
            self._log(job)

    def _run(self, job):
        try:
            if job.kind == "video":
                self.run_video(job.input_file, job.output_file, job.advance)
                job.state = "done"
                return
            image = np.load(job.input_file)
            result = self.run(image)
            if result.shape != image.shape or result.dtype != image.dtype:
                raise ValueError(f"the model returned {result.shape} {result.dtype} for "
                                 f"{image.shape} {image.dtype}")
            np.save(job.deblurred_file, result)
            job.state = "done"
        except Exception as error:  # one image's failure must not stop the worker
            traceback.print_exc(file=sys.stderr)
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            job.error = f"{job.name}: {message}"
            job.state = "failed"

    def _log(self, job):
        if self.log is None:
            return
        seconds = job.finished - job.started
        detail = f"{seconds:.1f} s" if job.state == "done" else job.error
        print(f"{job.state} {job.name} ({job.width}x{job.height}): {detail}", file=self.log,
              flush=True)

    def _notify(self, job):
        """Wakes the coroutines waiting for `job` (called with the lock held)."""
        for loop, event in job._waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed
                pass
        job._waiters.clear()

    async def wait(self, job):
        """Returns once `job` is done, failed or cancelled."""
        event = asyncio.Event()
        with self._condition:
            if job.state in FINAL_STATES:
                return
            job._waiters.append((asyncio.get_running_loop(), event))
        await event.wait()

    # -------------------------------------------------------------------- status

    def job(self, job_id):
        """The job of that id, or None."""
        with self._condition:
            return self._jobs.get(job_id)

    def jobs(self):
        with self._condition:
            return list(self._jobs.values())

    def _rate(self):
        """Seconds per megapixel (see `_RATE_WINDOW`), None before an image is done;
        called with the lock held."""
        return float(np.median(self._rates)) if self._rates else None

    def seconds_per_megapixel(self):
        """The measured speed: the median over the last images, or None before the first."""
        with self._condition:
            return self._rate()

    def status(self):
        """The service's state, for /api/status."""
        with self._condition:
            running = self._running.id if self._running is not None else None
            waiting = len(self._waiting)
            rate = self._rate()
        return {"model": self.description, "queued": waiting, "running": running,
                "max_queue": self.max_queue, "stopping": self._stopping,
                "seconds_per_megapixel": rate}

    def job_status(self, job):
        """A job's state, position, times and ETA, for /api/jobs/{id}."""
        now = time.monotonic()
        with self._condition:
            rate = self._rate()
            status = {"id": job.id, "kind": job.kind, "name": job.name, "state": job.state,
                      "error": job.error,
                      "width": job.width, "height": job.height, "channels": job.channels,
                      "bit_depth": job.bit_depth,
                      "format": job.extension.lstrip("."), "position": None, "eta_s": None,
                      "elapsed_s": None, "seconds": None, "progress": None}
            if job.kind == "video":
                status.update(frames=job.frames, frames_done=job.frames_done,
                              duration_s=job.duration)
            if job.state == "queued":
                position = self._waiting.index(job)
                status["position"] = position + 1
                if rate is not None:
                    ahead = sum(other.megapixels for other in list(self._waiting)[:position])
                    left = 0.0
                    if self._running is not None:
                        left = max(0.0, self._running.megapixels * rate
                                   - (now - self._running.started))
                    status["eta_s"] = left + (ahead + job.megapixels) * rate
            elif job.state == "running":
                elapsed = now - job.started
                status["elapsed_s"] = elapsed
                if job.kind == "video" and job.frames_done:  # measured on its own frames
                    status["progress"] = job.frames_done / job.frames
                    status["eta_s"] = elapsed / job.frames_done * (job.frames - job.frames_done)
                elif rate is not None:
                    expected = job.megapixels * rate
                    status["eta_s"] = max(0.0, expected - elapsed)
                    status["progress"] = min(0.99, elapsed / expected) if expected else None
            elif job.finished is not None and job.started is not None:
                status["seconds"] = job.finished - job.started
                status["progress"] = 1.0 if job.state == "done" else None
        return status

    # ------------------------------------------------------------------- results

    def delete(self, job):
        """Forgets a job and removes its files; a running one goes once it finishes."""
        with self._condition:
            if job.state == "queued":
                self._waiting.remove(job)
                job.state = "cancelled"
                job.error = "removed"
                self._notify(job)
            if job.state == "running":
                job.discard = True
                return
            self._forget(job)

    def _forget(self, job):
        self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def _check_done(self, job):
        if job.state != "done":
            detail = f": {job.error}" if job.error else ""
            raise NotReady(f"{job.name} is {job.state}{detail}")

    def result_file(self, job, strength=1.0):
        """The path of `job`'s result at `strength`, encoded in the input's format and
        bit depth with its EXIF and ICC metadata (made on first use, then cached); a
        video's deblurred video (strength 1 only).

        Raises:
            NotReady: the job is not done.
            ValueError: a bad strength, or a strength other than 1 for a video.
        """
        strength = check_strength(strength)
        if job.kind == "video" and strength != 1.0:
            raise ValueError("strength applies to photos; a video's result is whole")
        self._check_done(job)
        if job.kind == "video":
            return job.output_file
        key = repr(strength)
        with job.lock:
            if key in job.results and os.path.exists(job.results[key]):
                job.results.move_to_end(key)
                return job.results[key]
            image = np.load(job.input_file)
            deblurred = np.load(job.deblurred_file)
            path = os.path.join(job.folder, f"result-{len(job.results)}-"
                                            f"{secrets.token_hex(4)}{job.extension}")
            image_io.write_image(path, apply_strength(image, deblurred, strength), job.metadata)
            job.results[key] = path
            while len(job.results) > _RESULTS_KEPT:
                _, old = job.results.popitem(last=False)
                # A response may still be sending it: an open file survives its removal.
                os.remove(old)
            return path

    def preview_file(self, job, which):
        """An 8-bit PNG of the input or the result ("input", "result") at full
        resolution for the page, with the input's ICC profile."""
        if which not in ("input", "result"):
            raise ValueError(f"no preview {which!r}")
        if which == "result":
            self._check_done(job)
        path = os.path.join(job.folder, f"preview-{which}.png")
        with job.lock:
            if not os.path.exists(path):
                image = np.load(job.input_file if which == "input" else job.deblurred_file)
                if image.dtype == np.uint16:
                    image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
                image_io.write_image(
                    path, image, image_io.ImageMetadata(icc_profile=job.metadata.icc_profile))
        return path

    def zip_file(self, items):
        """A zip of results: `items` is a list of (job, strength); names are each
        result's download name, numbered where two would be the same.

        Raises:
            NotReady: a job is not done.
        """
        for job, _ in items:
            self._check_done(job)
        path = os.path.join(self.folder, f"results-{secrets.token_hex(8)}.zip")
        used = set()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for job, strength in items:
                name = job.download_name(strength)
                stem, extension = os.path.splitext(name)
                number = 2
                while name.lower() in used:
                    name = f"{stem} ({number}){extension}"
                    number += 1
                used.add(name.lower())
                archive.write(self.result_file(job, strength if job.kind == "image" else 1.0),
                              arcname=name)
        return path


def model_runner(model, options=None, precision="auto"):
    """`DeblurService`'s `run` for a loaded model: each image as srn-deblur deblurs it
    (`per_file.deblur_decoded`): `options` (the `InferenceOptions`; None: the model's
    own), `precision` (as `deblur_image` takes it; "auto": the processor's own), and
    automatic tiling (`per_file.auto_tile`), so memory stays bounded on big images."""
    from srn_tf.inference.per_file import deblur_decoded
    from srn_tf.models.inference_options import options_for

    options = options_for(model, options)

    def run(image):
        return deblur_decoded(model, image, options, precision)

    return run


def memory_check_of(model):
    """`DeblurService`'s `memory_check` for a loaded model: the memory plan's check
    srn-deblur makes of each file (`per_file.check_memory_of_shape`), for the tiles
    `model_runner` will use, on the header the service has read."""
    from srn_tf.inference.per_file import check_memory_of_shape

    def check(path, header):
        check_memory_of_shape(path, model, (header.height, header.width, header.channels),
                              header.bytes_per_sample)

    return check
