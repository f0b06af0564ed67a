"""Gradio demo: image + spoken/typed cue -> efficient expert, GMAC savings, top-down attention in the full network.

Layout and wiring only: every decision is made in :mod:`hldemo.demo` (the engine) and every panel
is drawn by :mod:`hldemo.demo.render`.

    python app.py [--port 7860] [--host 127.0.0.1] [--checkpoint nhl_lite0] [--device auto] [--dtype float32]

Listens on 127.0.0.1:7860 by default; on 0.0.0.0 inside a Hugging Face Space (``SPACE_ID``) or when
``GRADIO_SERVER_NAME`` says so; ``GRADIO_SERVER_PORT`` or ``--port`` change the port. Starts offline:
no analytics, no Hub telemetry, fonts from the system (set ``HF_HUB_OFFLINE=0`` to load a
checkpoint from the Hub). The networks, Whisper and the cue embedder run on ``--device`` (default
``$HLDEMO_DEVICE`` or ``auto``: a GPU when there is one). On a ZeroGPU Space (the ``spaces`` package is
importable) every handler that runs them is wrapped in ``spaces.GPU``, which lends the GPU to it;
elsewhere the handlers are the plain functions.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

try:  # a ZeroGPU Space lends its GPU only to functions wrapped in spaces.GPU (imported before torch)
    from spaces import GPU as on_gpu
except ImportError:  # anywhere else: nothing changes
    def on_gpu(fn):
        """Without the ``spaces`` package (no ZeroGPU): the handler itself."""
        return fn

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

from hldemo.demo import render  # noqa: E402
from hldemo.demo.engine import (  # noqa: E402
    DEFAULT_CHECKPOINT,
    DEFAULT_MODE,
    MAX_GAIN,
    MIN_GAIN,
    THREADS_ENV,
    DemoEngine,
    configure_threads,
)
from hldemo.data import load_example_credits  # noqa: E402
from hldemo.errors import exit_on_user_error  # noqa: E402
from hldemo.utils import add_device_arguments  # noqa: E402

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
CONCURRENCY = int(os.environ.get("HLDEMO_CONCURRENCY", "2"))  # requests run side by side (1 thread each)
MAX_FILE_SIZE = "50mb"  # uploads (images and audio); a 10-minute 16 kHz recording is ~19 MB
MAX_CUE_CHARS = 500  # the textbox; the cue matcher itself cuts at 300
THEME = gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])
CSS = """
#cost-table table {border-collapse: collapse; width: 100%; font-size: 0.9em}
#cost-table th, #cost-table td {padding: 3px 8px; text-align: right; border-bottom: 1px solid #e5e7eb}
#cost-table th:first-child, #cost-table td:first-child {text-align: left}
.hl-cost-note {font-size: 0.8em; color: #6b7280}
#hierarchy-picture svg {display: block}
"""
INTRO = """# Hierarchical networks: efficient experts and top-down attention
Show the network a photo and tell it what you are looking for (type it, or say it). It then runs
only the **branches** of its category tree that you asked for — an *efficient expert* — and, in the
full network, **boosts** (or **turns down**) those branches with top-down attention. See what each
predicts and how much computation the expert saved."""
ATTENTION_HELP = ("**Enhance**: cut out an expert for the chosen categories, and multiply their branches in the "
                  "full network by the gain. **Inhibit**: no expert; divide the chosen branches by the gain. "
                  "Gain 1 = no attention; the default gain was chosen on calibration photos (model card).")
ABOUT = """**Paper.** A. P. Kelm, N. Hannemann, B. Heberle, L. Schmidt, T. Rolff, C. Wilms, E. Yaghoubi,
S. Frintrop: *Dynamic Inference and Top-down Attention in a Hierarchical Classification Network*,
ICPR 2024 ([arXiv:2308.05128](https://arxiv.org/abs/2308.05128)).

**Three columns.** *Full NHL*: the whole tree of branches, one softmax over all 1000 categories;
it predicts what its teacher predicts.

*Efficient expert*: only the trunk and the branches on the paths to the categories you asked for
(no retraining), the cheap path; its softmax runs over those categories only, so it always names one
of them. Next to it: how much of the full NHL's belief falls inside its categories. When that is
under half, the photo is probably none of them, and the explanation says what the full NHL sees.

*Full NHL + attention*: the full network again, with the cued branches' features multiplied by the
gain (turned-down ones divided) just before their last layer, as in the paper. The cued categories
compete with all 1000, so a right cue can tip an unsure answer, while a wrong cue does not make the
network see what is not there. It costs one more pass of the full network.

**What runs here.** An *independent re-implementation* — not the authors' code or weights. A frozen
EfficientNet-Lite0 (ImageNet-1k) trunk is shared by all categories; on top sits a tree of branches
(29 groups → 145 subgroups → 1000 categories, a curated hierarchy) cut from the EfficientNet-Lite0
teacher itself: each group's branch copies the teacher's last block and conv_head, and the category
branches hold its classifier rows, so the full network predicts exactly what the teacher predicts
(the model card measures it on held-out photos). Attention acts for this request only.

**Costs.** GMACs and parameters are counted for one 224×224 image with the trunk included; the
milliseconds are the median of a few runs of each network during your request, timed the
way `python -m hldemo.bench` times them (same optimisations and threads).

**Cues.** A recording goes through YAMNet (an AudioSet sound tagger) first: speech is transcribed
offline by Whisper (tiny.en), a sound that names something (a meow, a moo, a harp) selects its node,
anything else is "not sure". Text is matched to the hierarchy with a sound-word list, exact names and
MiniLM sentence embeddings; correct it with the picker. Example photos: scikit-image sample data (CC0 /
public domain) and Flickr photos under CC BY 2.0 (authors credited below the examples); spoken examples:
eSpeak NG; recorded sounds: GCompris (GPL-3.0) and Tux Paint (GPL-2.0+)."""

log = logging.getLogger("hldemo.app")


def build_demo(engine: DemoEngine) -> gr.Blocks:
    """The Gradio app around a loaded :class:`DemoEngine` (not launched)."""
    hierarchy = engine.hierarchy

    def outputs_of(result) -> tuple:
        p = render.panels(hierarchy, result)
        transcript = p["transcript"] if result.cue.source in ("speech", "sound") else gr.skip()
        picker = result.selection if result.selection_source in ("cue", "picker") else gr.skip()
        expert = gr.Label(value=p["expert"], label=p["expert_title"])
        return (p["explanation"], transcript, p["cue"], picker, p["teacher"], p["nhl"], expert,
                p["attention"], p["costs"], p["hierarchy"], p["details"])

    @on_gpu
    def classify(image, cue, audio, selection, mode, gain, progress=gr.Progress()):
        result = engine.run(image, cue=cue, audio=audio, selection=selection, mode=mode, gain=gain,
                            progress=lambda f, m: progress(f, desc=m))
        return outputs_of(result)

    @on_gpu
    def run_example(image, cue, audio, progress=gr.Progress()):
        result = engine.run(image, cue=cue, audio=audio, selection=None, mode=DEFAULT_MODE, gain=engine.default_gain,
                            progress=lambda f, m: progress(f, desc=m))
        return outputs_of(result) + (DEFAULT_MODE, engine.default_gain)

    @on_gpu
    def interpret(cue):
        info = engine.interpret(cue)
        return render.cue_markdown(info), info.node_ids

    @on_gpu
    def transcribe(audio):
        if audio is None:
            return gr.skip(), "", gr.skip(), gr.skip()
        info = engine.interpret(audio=audio)
        text = info.transcript if info.heard else ""
        return text, render.transcript_markdown(info), render.cue_markdown(info), info.node_ids

    @on_gpu
    def export(selection, cue):
        try:
            return str(engine.export_expert(selection, cue=cue)), "Expert saved: download the zip below."
        except Exception as e:  # nothing selected, disk full...: a message, not a crash
            return None, f"⚠️ {e}"

    with gr.Blocks(title="Hierarchical networks: experts and top-down attention") as demo:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                image = safe_image(label="Photo", sources=["upload", "webcam", "clipboard"],
                                  elem_id="image-input", height=300)
                cue = gr.Textbox(label="Cue: what are you looking for?", placeholder="e.g. meow, a coffee cup, not a dog",
                                 info=f"Understood in {render.understood_languages()}",
                                 max_lines=2, max_length=MAX_CUE_CHARS, elem_id="cue-input")
                audio = gr.Audio(label=f"…or say it ({render.understood_languages()}), or record a sound",
                                 sources=["microphone", "upload"], type="filepath", elem_id="audio-input")
                picker = gr.Dropdown(choices=engine.picker_choices(), value=[], multiselect=True, filterable=True,
                                     allow_custom_value=True, label="Categories (pre-filled from the cue; edit to correct)",
                                     info="Groups and single categories; empty = the full network", elem_id="picker")
                with gr.Row():
                    mode = gr.Radio(["enhance", "inhibit"], value=DEFAULT_MODE, label="Attention", elem_id="mode")
                    gain = gr.Slider(MIN_GAIN, MAX_GAIN, value=engine.default_gain, step=0.05, label="Gain", elem_id="gain")
                gr.Markdown(ATTENTION_HELP)
                run = gr.Button("Run", variant="primary", elem_id="run-button")
                with gr.Accordion("Download the current expert", open=False):
                    export_btn = gr.Button("Save the expert (safetensors + config, zipped)", elem_id="export-button")
                    export_msg = gr.Markdown()
                    export_file = gr.File(label="Expert", interactive=False, elem_id="export-file")
            with gr.Column(scale=3, min_width=480):
                explanation = gr.Markdown("Upload a photo (or pick an example below) and press **Run**.",
                                          elem_id="explanation")
                transcript = gr.Markdown(elem_id="transcript")
                cue_info = gr.Markdown(elem_id="cue-info")
                with gr.Row():
                    top_teacher = gr.Label(num_top_classes=5, show_heading=False, label=render.COLUMN_TITLES["teacher"],
                                           elem_id="top-teacher")
                    top_nhl = gr.Label(num_top_classes=5, show_heading=False, label=render.COLUMN_TITLES["nhl"],
                                       elem_id="top-nhl")
                    top_expert = gr.Label(num_top_classes=5, show_heading=False, label=render.COLUMN_TITLES["expert"],
                                          elem_id="top-expert")
                    top_attention = gr.Label(num_top_classes=5, show_heading=False,
                                             label=render.COLUMN_TITLES["attention"], elem_id="top-attention")
                costs = gr.HTML(render.cost_table_html([]), label="Cost", elem_id="cost-panel")
                picture = gr.HTML(render.hierarchy_svg(hierarchy, title="The category hierarchy"),
                                  label="Hierarchy", elem_id="hierarchy-picture")
                with gr.Accordion("Details (JSON)", open=False):
                    details = gr.JSON(elem_id="details")
        outputs = [explanation, transcript, cue_info, picker, top_teacher, top_nhl, top_expert, top_attention,
                   costs, picture, details]
        gr.Examples(
            examples=_examples(), inputs=[image, cue, audio], outputs=outputs + [mode, gain], fn=run_example,
            run_on_click=True, cache_examples=False, api_name="example", label="Examples (click to run)")
        gr.Markdown(render.example_credits_markdown(load_example_credits()), elem_id="example-credits")
        with gr.Accordion("About this demo", open=False, elem_id="about"):
            gr.Markdown(ABOUT)

        inputs = [image, cue, audio, picker, mode, gain]
        run.click(classify, inputs, outputs, api_name="classify", concurrency_limit=CONCURRENCY,
                  concurrency_id="networks")
        cue.submit(classify, inputs, outputs, api_name="classify_on_submit", concurrency_limit=CONCURRENCY,
                   concurrency_id="networks")
        cue.change(interpret, [cue], [cue_info, picker], api_name="interpret", trigger_mode="always_last",
                  show_progress="hidden", concurrency_limit=4)
        for event in (audio.stop_recording, audio.upload):
            event(transcribe, [audio], [cue, transcript, cue_info, picker],
                  api_name="transcribe" if event == audio.upload else "transcribe_recording",
                  concurrency_limit=CONCURRENCY, concurrency_id="speech")
        audio.clear(lambda: "", None, [transcript], api_name="clear_audio", queue=False)
        export_btn.click(export, [picker, cue], [export_file, export_msg], api_name="export_expert",
                         concurrency_limit=1)
    return demo


def safe_image(**kwargs) -> gr.Image:
    """A ``gr.Image`` that hands the uploaded file on *unopened*.

    ``gr.Image`` opens every upload with PIL before the handler runs, so a decompression bomb or a
    file that is no image fails inside Gradio with a generic error. Here the path (or, for inline
    webcam/clipboard data, the bytes) goes to :func:`hldemo.data.load_image`, which checks the pixel
    count from the header before decoding and explains what is wrong. (An instance override, not a
    subclass: Gradio writes a ``.pyi`` stub next to the module of every Component subclass.)
    """
    component = gr.Image(type="filepath", **kwargs)

    def preprocess(payload):
        if payload is None:
            return None
        url = getattr(payload, "url", None) or ""
        if url.startswith("data:"):
            import base64

            return base64.b64decode(url.split(",", 1)[-1] or "", validate=False)
        return getattr(payload, "path", None)

    component.preprocess = preprocess
    return component


def _examples() -> list[list]:
    photos, speech, sounds = EXAMPLES / "photos", EXAMPLES / "speech", EXAMPLES / "sounds"
    attention = [[photos / row["file"], row["cue"], None] for row in load_example_credits() if row.get("cue")]
    rows = [
        [photos / "cat_chelsea.jpg", "", sounds / "farm-animals" / "cat.ogg"],  # recorded sounds: YAMNet
        [photos / "papillon_dog.jpg", "", sounds / "farm-animals" / "dog.ogg"],
        [photos / "water_buffalo.jpg", "", sounds / "farm-animals" / "cow.ogg"],
        [photos / "harp.jpg", "", sounds / "tuxpaint" / "sounds" / "harp.wav"],
        [photos / "cat_chelsea.jpg", "meow", None],
        *attention,  # a right cue tips the full NHL's unsure answer to the right category
        [photos / "cat_chelsea.jpg", "a truck", None],  # a wrong cue: the network holds its ground
        [photos / "cat_chelsea.jpg", "", speech / "show_me_the_cat.wav"],
        [photos / "cat_chelsea.jpg", "", speech / "die_katze.wav"],  # German: Whisper base, FreeDict words
        [photos / "coffee_cup.jpg", "something to drink from", None],
        [photos / "coffee_cup.jpg", "", speech / "find_the_coffee_mug.wav"],
        [photos / "rocket_launch.jpg", "a rocket", None],
        [photos / "cat_chelsea.jpg", "not a cat", None],
    ]
    return [[str(p) if p is not None else None for p in row] for row in rows
            if all(p is None or isinstance(p, str) or p.exists() for p in row)]


def server_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to listen: explicit arguments, else ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``, else
    0.0.0.0 inside a Hugging Face Space (``SPACE_ID``) and 127.0.0.1 elsewhere, port 7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if os.environ.get("SPACE_ID") else DEFAULT_HOST)
    port = port or int(os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    return host, port


def launch(demo: gr.Blocks, host: str | None = None, port: int | None = None, **kwargs):
    """``demo.queue(...).launch(...)`` with the demo's settings (theme, CSS, upload cap, address)."""
    host, port = server_address(host, port)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo.launch(server_name=host, server_port=port, max_file_size=MAX_FILE_SIZE, theme=THEME, css=CSS,
                       ssr_mode=False, show_error=False, allowed_paths=[str(EXAMPLES)], **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1, 0.0.0.0 in a Space)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--checkpoint", default=os.environ.get("HLDEMO_CHECKPOINT", DEFAULT_CHECKPOINT),
                        help="NHL checkpoint: a name under checkpoints/, a folder, or a Hub repo id")
    parser.add_argument("--speech-model", default=os.environ.get("HLDEMO_SPEECH_MODEL", "tiny.en"),
                        help="Whisper model ('none' to disable speech)")
    add_device_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    t0 = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        print(f"[{time.perf_counter() - t0:5.1f} s] {100 * fraction:3.0f}% {message}", flush=True)

    speech = None if str(args.speech_model).lower() in ("", "none", "off") else args.speech_model
    with exit_on_user_error(parser.prog):  # a checkpoint that cannot be loaded: one line, not a traceback
        progress(0.0, f"{configure_threads()} torch thread(s) per request (${THREADS_ENV})")
        engine = DemoEngine(args.checkpoint, speech_model=speech, device=args.device, dtype=args.dtype, progress=progress)
    demo = build_demo(engine)
    host, port = server_address(args.host, args.port)
    progress(1.0, f"serving on http://{host}:{port}; networks on {engine.device_label}")
    launch(demo, host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
