// srn-serve's page: uploads photos to /api/jobs and videos to /api/videos, follows each
// job, shows photos before/after and videos once deblurred.
"use strict";

const POLL_MS = 600;
const RETRY_MS = 2000;
const PARALLEL_UPLOADS = 2;

const cardsElement = document.getElementById("cards");
const template = document.getElementById("card-template");
const toolbar = document.getElementById("toolbar");
const downloadAll = document.getElementById("download-all");
const summary = document.getElementById("summary");
const serverStatus = document.getElementById("server-status");
const dropZone = document.getElementById("drop-zone");
const fileInput = document.getElementById("file-input");

let maxUploadBytes = null;
let maxVideoBytes = null;
let videosTaken = true;
const cards = [];
const uploadQueue = [];
let uploading = 0;

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 1) return "under 1 s";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - 60 * minutes)} s`;
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function isVideo(file) {
  return file.type.startsWith("video/") || /\.(mp4|mov|m4v|mkv|webm|avi)$/i.test(file.name);
}

function ordinal(n) {
  const suffix = (n % 10 === 1 && n % 100 !== 11) ? "st" : (n % 10 === 2 && n % 100 !== 12)
    ? "nd" : (n % 10 === 3 && n % 100 !== 13) ? "rd" : "th";
  return `${n}${suffix}`;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (ignored) { /* not JSON */ }
  return `HTTP ${response.status}`;
}

async function refreshServerStatus() {
  try {
    const response = await fetch("/api/status");
    const status = await response.json();
    maxUploadBytes = status.max_upload_mb * 1024 * 1024;
    maxVideoBytes = status.max_video_mb * 1024 * 1024;
    videosTaken = status.videos;
    const speed = status.seconds_per_megapixel === null ? "speed measured after the first photo"
      : `${status.seconds_per_megapixel.toFixed(2)} s per megapixel`;
    serverStatus.textContent = `Model: ${status.model}. ${status.queued} waiting` +
      `${status.running ? ", 1 running" : ""}; ${speed}. ` +
      `Files up to ${status.max_upload_mb} MB. ` + (status.videos
        ? `Videos up to ${status.max_video_mb} MB and ${status.max_video_seconds} s.`
        : "Videos need PyAV on the server (pip install 'srn-tf[video]').");
  } catch (error) {
    serverStatus.textContent = "The server does not answer (was it stopped?).";
  }
}

class Card {
  constructor(file) {
    this.file = file;
    this.video = isVideo(file);
    this.job = null;
    this.state = "waiting";
    this.strength = 1;
    this.element = template.content.firstElementChild.cloneNode(true);
    this.element.dataset.name = file.name;
    this.$ = (selector) => this.element.querySelector(selector);
    this.$(".name").textContent = file.name;
    this.$(".details").textContent = formatBytes(file.size);
    this.$(".remove").addEventListener("click", () => this.remove());
    this.setState("waiting", "waiting to upload");
    cardsElement.appendChild(this.element);
  }

  setState(state, message, progress) {
    this.state = state;
    this.element.classList.remove("waiting", "uploading", "queued", "running", "done",
                                  "failed", "cancelled");
    this.element.classList.add(state);
    this.$(".state").textContent = state;
    this.$(".message").textContent = message || "";
    if (progress !== undefined && progress !== null) {
      this.$(".bar").style.width = `${Math.round(100 * progress)}%`;
    }
    updateToolbar();
  }

  fail(message) {
    this.setState("failed", message);
  }

  upload() {
    const limit = this.video ? maxVideoBytes : maxUploadBytes;
    if (limit !== null && this.file.size > limit) {
      this.fail(`${this.file.name}: the file is ${formatBytes(this.file.size)}, over the ` +
                `limit of ${formatBytes(limit)}`);
      return Promise.resolve();
    }
    if (this.video && !videosTaken) {
      this.fail(`${this.file.name}: this server takes no videos (it needs PyAV)`);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const form = new FormData();
      form.append(this.video ? "video" : "image", this.file, this.file.name);
      const request = new XMLHttpRequest();
      request.open("POST", this.video ? "/api/videos" : "/api/jobs");
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) {
          const part = event.loaded / event.total;
          this.setState("uploading", `uploading ${Math.round(100 * part)}%`, 0.1 * part);
        }
      };
      request.onload = () => {
        let body = null;
        try { body = JSON.parse(request.responseText); } catch (ignored) { /* not JSON */ }
        if (request.status === 202 && body) {
          this.job = body.id;
          this.show(body);
          this.poll();
        } else if (request.status === 503 && !(body && /stopping/.test(body.error))) {
          this.setState("waiting", "the queue is full; trying again shortly");
          setTimeout(() => enqueueUpload(this), RETRY_MS);
        } else {
          this.fail((body && body.error) || `upload failed (HTTP ${request.status})`);
        }
        resolve();
      };
      request.onerror = () => {
        this.fail("the upload failed: the server does not answer");
        resolve();
      };
      this.setState("uploading", "uploading", 0);
      request.send(form);
    });
  }

  show(status) {
    const eta = formatSeconds(status.eta_s);
    if (status.state === "queued") {
      const place = status.position === 1 ? "next in line" : `${ordinal(status.position)} in line`;
      this.setState("queued", `queued, ${place}` + (eta ? `; ETA ${eta}` : "; ETA after the " +
                    "first photo is measured"), 0.1);
    } else if (status.state === "running") {
      const progress = status.progress === null ? 0.15 : 0.1 + 0.9 * status.progress;
      const what = status.kind === "video"
        ? `deblurring frame ${status.frames_done} of ${status.frames}` : "deblurring";
      this.setState("running", what + (eta ? `; ETA ${eta}` : ""), progress);
    } else if (status.state === "done") {
      this.setState("done", `done in ${formatSeconds(status.seconds)}`, 1);
      if (status.kind === "video") this.showVideo(); else this.showViewer();
    } else {
      this.fail(status.error || status.state);
    }
    const frames = status.kind === "video"
      ? `, ${status.frames} frames, ${formatSeconds(status.duration_s)}` : "";
    this.$(".details").textContent =
      `${formatBytes(this.file.size)}, ${status.width}×${status.height}${frames}, ` +
      `${status.bit_depth}-bit ${status.format.toUpperCase()}`;
  }

  showVideo() {
    const result = this.$(".video-result");
    if (!result.hidden) return;
    const address = `/api/jobs/${this.job}/result`;
    this.$(".video-player").src = address;
    this.$(".download-video").href = address;
    result.hidden = false;
  }

  async poll() {
    while (this.job && (this.state === "queued" || this.state === "running" ||
                        this.state === "uploading")) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!this.job) return;
      try {
        const response = await fetch(`/api/jobs/${this.job}`);
        if (!response.ok) {
          this.fail(await errorOf(response));
          return;
        }
        this.show(await response.json());
      } catch (error) {
        this.setState(this.state, "the server does not answer; retrying");
      }
    }
  }

  showViewer() {
    const viewer = this.$(".viewer");
    if (!viewer.hidden) return;
    const base = `/api/jobs/${this.job}/preview`;
    this.$(".before").src = `${base}/input`;
    this.$(".after-input").src = `${base}/input`;
    this.$(".after-result").src = `${base}/result`;
    viewer.hidden = false;
    const slider = this.$(".slider");
    slider.addEventListener("input", () => this.setSplit(slider.value));
    const strength = this.$(".strength");
    strength.addEventListener("input", () => this.setStrength(strength.value / 100));
    this.$(".zoom").addEventListener("click", () => this.toggleZoom());
    const stage = this.$(".stage");
    const drag = (event) => {
      if (event.type !== "pointerdown" && !(event.buttons & 1)) return;
      const box = stage.getBoundingClientRect();
      const percent = Math.min(100, Math.max(0, 100 * (event.clientX - box.left) / box.width));
      slider.value = percent;
      this.setSplit(percent);
    };
    stage.addEventListener("pointerdown", drag);
    stage.addEventListener("pointermove", drag);
    this.setSplit(slider.value);
    this.setStrength(this.strength);
  }

  setSplit(percent) {
    this.$(".after").style.clipPath = `inset(0 0 0 ${percent}%)`;
    this.$(".divider").style.left = `${percent}%`;
  }

  setStrength(strength) {
    this.strength = strength;
    this.$(".after-result").style.opacity = String(strength);
    this.$(".strength-value").textContent = `${Math.round(100 * strength)}%`;
    this.$(".download").href = `/api/jobs/${this.job}/result?strength=${strength}`;
    updateToolbar();
  }

  toggleZoom() {
    const actual = this.element.classList.toggle("actual-size");
    const before = this.$(".before");
    before.style.width = actual ? `${before.naturalWidth / window.devicePixelRatio}px` : "";
    this.$(".zoom").textContent = actual ? "Fit to width" : "Zoom 1:1";
  }

  remove() {
    if (this.job) fetch(`/api/jobs/${this.job}`, {method: "DELETE"}).catch(() => {});
    this.job = null;
    this.state = "removed";
    this.element.remove();
    cards.splice(cards.indexOf(this), 1);
    updateToolbar();
  }
}

function updateToolbar() {
  const done = cards.filter((card) => card.state === "done");
  toolbar.hidden = cards.length === 0;
  const failed = cards.filter((card) => card.state === "failed").length;
  const busy = cards.length - done.length - failed;
  summary.textContent = `${done.length} done, ${busy} in progress, ${failed} failed`;
  downloadAll.setAttribute("aria-disabled", done.length ? "false" : "true");
  downloadAll.href = done.length ? "/api/results.zip?jobs=" +
    done.map((card) => `${card.job}:${card.strength}`).join(",") : "#";
}

function enqueueUpload(card) {
  uploadQueue.push(card);
  pumpUploads();
}

function pumpUploads() {
  while (uploading < PARALLEL_UPLOADS && uploadQueue.length) {
    const card = uploadQueue.shift();
    if (card.state === "removed") continue;
    uploading += 1;
    card.upload().finally(() => {
      uploading -= 1;
      pumpUploads();
    });
  }
}

function addFiles(files) {
  for (const file of files) {
    const card = new Card(file);
    cards.push(card);
    enqueueUpload(card);
  }
}

fileInput.addEventListener("change", () => {
  addFiles(Array.from(fileInput.files));
  fileInput.value = "";
});
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  addFiles(Array.from(event.dataTransfer.files));
});
dropZone.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") fileInput.click();
});

refreshServerStatus();
setInterval(refreshServerStatus, 5000);
