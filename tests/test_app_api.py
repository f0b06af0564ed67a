"""The Gradio app through its HTTP API (gradio_client against an in-process launch).

Covers the main flow (typed and spoken cues, picker, attention, export) and every bad input of the
issue: each must give a clear message, and the server must keep answering afterwards. Ends with 20
concurrent clients that must each get exactly the answer they get alone.
"""

from __future__ import annotations

import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import HOUSE_CATS
from PIL import Image

from hldemo.demo.results import answer_of  # the deterministic part of a result's JSON details (timings dropped)

ROOT = Path(__file__).resolve().parent.parent
CAT = ROOT / "examples" / "photos" / "cat_chelsea.jpg"
COFFEE = ROOT / "examples" / "photos" / "coffee_cup.jpg"
SPEECH = ROOT / "examples" / "speech"
OUTPUTS = ("explanation", "transcript", "cue", "picker", "teacher", "nhl", "expert", "attention", "costs",
           "hierarchy", "details")
N_CLIENTS = 20
BOMB_SIDE = 30_000


# --- helpers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(demo_app):
    from gradio_client import Client

    _, url = demo_app
    return Client(url, verbose=False)


def classify(client, image=CAT, cue="", audio=None, selection=(), mode="enhance", gain=2.0) -> dict:
    from gradio_client import handle_file

    out = client.predict(handle_file(str(image)) if image is not None else None, cue,
                         handle_file(str(audio)) if audio is not None else None, list(selection), mode, gain,
                         api_name="/classify")
    return dict(zip(OUTPUTS, out))


def assert_alive(client) -> None:
    """The server still answers (a cheap endpoint)."""
    md, nodes = client.predict("meow", api_name="/interpret")
    assert nodes == ["domestic_cat"], md


def top_labels(label: dict | None) -> list[str]:
    return [c["label"] for c in (label or {}).get("confidences", [])]


# --- bad files, generated cheaply ----------------------------------------------------------------
def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def decompression_bomb(path: Path, side: int = BOMB_SIDE) -> Path:
    """A valid 1-bit PNG of side x side pixels (900 megapixels) in ~110 kB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Every bad (or merely unusual) input file, by name."""
    import soundfile as sf

    from hldemo.cues.audio import resample

    d = tmp_path_factory.mktemp("bad_inputs")
    cat = Image.open(CAT).convert("RGB")
    out: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        out[name] = d / name
        out[name].write_bytes(data)

    put("not_an_image.png", b"this is a text file, not a picture\n" * 20)
    put("corrupt.jpg", bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)))
    put("truncated.jpg", CAT.read_bytes()[: CAT.stat().st_size // 3])
    out["bomb.png"] = decompression_bomb(d / "bomb.png")
    Image.new("RGB", (1, 1), (200, 100, 50)).save(d / "one_pixel.png")
    out["one_pixel.png"] = d / "one_pixel.png"
    for name, img in {"gray.png": cat.convert("L"), "rgba.png": cat.convert("RGBA"), "cmyk.jpg": cat.convert("CMYK"),
                      "sixteen_bit.png": Image.fromarray(np.asarray(cat.convert("L"), dtype=np.uint16) * 257)}.items():
        img.save(d / name)
        out[name] = d / name
    frames = [cat.rotate(a).convert("P") for a in (0, 10, 20)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out["animated.gif"] = d / "animated.gif"

    sf.write(d / "silent.wav", np.zeros(32_000, dtype=np.int16), 16_000, subtype="PCM_16")
    out["silent.wav"] = d / "silent.wav"
    put("empty.wav", b"")
    put("corrupt.wav", b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)))
    rng = np.random.default_rng(2)
    ten_min = (rng.normal(0, 300, 16_000 * 600)).astype(np.int16)  # 10 minutes of quiet hiss, 19 MB
    sf.write(d / "ten_minutes.wav", ten_min, 16_000, subtype="PCM_16")
    out["ten_minutes.wav"] = d / "ten_minutes.wav"
    speech, rate = sf.read(SPEECH / "meow.wav", dtype="float32")
    low = resample(speech, rate, 8_000)
    sf.write(d / "stereo_8k.wav", np.stack([low, 0.8 * low], axis=1), 8_000, subtype="PCM_16")
    out["stereo_8k.wav"] = d / "stereo_8k.wav"
    return out


# --- the main flow -------------------------------------------------------------------------------
def test_endpoints_have_names(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/classify", "/interpret", "/transcribe", "/export_expert"} <= names


def test_typed_cue_builds_an_expert(client):
    r = classify(client, cue="meow")
    d = r["details"]
    assert d["ok"] and not d["expert_is_full"]
    assert d["selection"] == ["domestic_cat"] and d["selection_source"] == "cue"
    assert r["picker"] == ["domestic_cat"]  # the picker is pre-filled from the cue
    assert d["n_categories"] == 5
    assert all(p["wnid"] in d["categories"] for p in d["expert"])
    assert len(top_labels(r["teacher"])) == len(top_labels(r["nhl"])) == len(top_labels(r["attention"])) == 5
    assert [p["name"] for p in d["nhl_attention"]] == top_labels(r["attention"])  # the full NHL + attention column
    assert 0.5 < d["expert_share"] <= 1 and not d["expert_share_low"]
    top = d["nhl"][0]  # "meow" raises the full network's cat in the attention column
    assert top["wnid"] in HOUSE_CATS
    assert next(p["probability"] for p in d["nhl_attention"] if p["wnid"] == top["wnid"]) > top["probability"]
    assert d["gains"] == {"domestic_cat": 2.0}
    teacher, nhl, expert, attention = d["costs"]
    assert attention["model"] == "full NHL + attention" and attention["gmacs"] == nhl["gmacs"]
    assert expert["gmacs"] < nhl["gmacs"] and expert["params_m"] < nhl["params_m"]
    assert expert["gmacs"] <= teacher["gmacs"] and expert["gmacs"] < 0.3 * nhl["gmacs"] and "fewer GMACs" in r["costs"]
    assert "domestic cat" in r["explanation"] and "computed" in r["explanation"]
    assert "<svg" in r["hierarchy"] and "domestic cat" in r["hierarchy"]
    assert "domestic cat" in r["cue"]


def test_spoken_cue(client):
    r = classify(client, audio=SPEECH / "meow.wav")
    d = r["details"]
    assert d["cue"]["source"] == "speech" and d["cue"]["understood"], d["cue"]
    assert d["selection"] == ["domestic_cat"]
    assert "Heard" in r["transcript"] and "You said" in r["explanation"]


def test_recorded_sound_cue(client):
    """A moo selects cattle through YAMNet (no speech): the panel says what was heard and why."""
    r = classify(client, audio=ROOT / "examples" / "sounds" / "farm-animals" / "cow.ogg")
    d = r["details"]
    assert d["cue"]["source"] == "sound" and d["cue"]["understood"], d["cue"]
    assert d["selection"] == ["cattle"] and d["cue"]["sound"]["label"] in ("Moo", "Cattle, bovinae")
    assert "Heard (a sound, not speech)" in r["transcript"] and "It sounded like" in r["explanation"]


def test_transcribe_prefills_cue_and_picker(client):
    from gradio_client import handle_file

    text, transcript, cue_md, nodes = client.predict(handle_file(str(SPEECH / "find_the_coffee_mug.wav")),
                                                     api_name="/transcribe")
    assert "coffee mug" in text.lower() and "Heard" in transcript
    assert nodes and "coffee mug" in cue_md.lower()


def test_picker_overrides_cue_and_inhibit_mode(client):
    r = classify(client, cue="meow", selection=["n03063599"])  # coffee mug picked by hand
    assert r["details"]["selection_source"] == "picker" and r["details"]["categories"] == ["n03063599"]
    r = classify(client, cue="cat", mode="inhibit", gain=4)
    d = r["details"]
    assert d["expert_is_full"] and d["gains"] == {"domestic_cat": 0.25}
    assert "turned down" in r["explanation"]


def test_attention_gain_changes_the_answer_but_not_the_expert(client):
    a = classify(client, cue="dog", gain=1.0)["details"]
    b = classify(client, cue="dog", gain=6.0)["details"]
    assert a["categories"] == b["categories"] and a["costs"][2]["gmacs"] == b["costs"][2]["gmacs"]
    assert a["gains"] == {} and b["gains"] == {"dog": 6.0}
    assert a["nhl_attention"] == a["nhl"]  # gain 1: no attention
    assert b["nhl_attention"] != b["nhl"] and b["expert"] == a["expert"]


def test_a_wrong_cue_is_seen_through(client):
    """'a truck' on a cat: the attention column still says a cat; the expert column names a truck
    with its low share stated, and the explanation says the photo is probably not a truck."""
    r = classify(client, cue="a truck")
    d = r["details"]
    assert d["nhl_attention"][0]["wnid"] in HOUSE_CATS and top_labels(r["attention"])[0] == d["nhl_attention"][0]["name"]
    assert d["expert"][0]["wnid"] in d["categories"] and d["expert_share_low"] and d["expert_share"] < 0.05
    assert "probably not" in r["explanation"] and d["nhl"][0]["name"] in r["explanation"]


def test_export_expert(client, tmp_path):
    import zipfile

    from hldemo.net.checkpoint import load_model

    path, msg = client.predict(["domestic_cat"], "", api_name="/export_expert")
    assert path and path.endswith(".zip"), msg
    with zipfile.ZipFile(path) as zf:
        names = {Path(n).name for n in zf.namelist()}
        assert {"head.safetensors", "config.json", "hierarchy.json", "README.md"} <= names
        zf.extractall(tmp_path)
    folder = next(p.parent for p in tmp_path.rglob("head.safetensors"))
    expert = load_model(folder)
    assert len(expert.categories) == 5
    path, msg = client.predict([], "", api_name="/export_expert")
    assert path is None and "select" in msg.lower()
    assert_alive(client)


# --- bad images ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, words", [
    ("not_an_image.png", "not an image"),
    ("corrupt.jpg", "not an image, or corrupt"),
    ("truncated.jpg", "corrupt/truncated"),
    ("bomb.png", "too large"),
    ("one_pixel.png", "too small"),
])
def test_bad_image_gives_a_clear_message(client, files, name, words):
    r = classify(client, image=files[name], cue="meow")
    d = r["details"]
    assert not d["ok"]
    assert "Could not use the image" in r["explanation"] and words in r["explanation"], r["explanation"]
    assert str(files[name].parent) not in r["explanation"]  # no server paths in messages
    assert r["teacher"] is None or not top_labels(r["teacher"])
    assert d["cue"]["understood"]  # the cue is still reported
    assert_alive(client)


@pytest.mark.parametrize("name", ["gray.png", "rgba.png", "cmyk.jpg", "sixteen_bit.png", "animated.gif"])
def test_unusual_image_modes_work(client, files, name):
    r = classify(client, image=files[name], cue="meow")
    assert r["details"]["ok"], r["explanation"]
    assert len(top_labels(r["attention"])) == 5


def test_no_image(client):
    r = classify(client, image=None, cue="meow")
    assert not r["details"]["ok"] and "no image given" in r["explanation"]
    assert_alive(client)


# --- bad audio -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, words", [
    ("silent.wav", "silent"),
    ("empty.wav", "Could not use the audio"),
    ("corrupt.wav", "Could not use the audio"),
])
def test_bad_audio_gives_a_clear_message_and_the_full_network(client, files, name, words):
    r = classify(client, audio=files[name])
    d = r["details"]
    assert d["ok"] and d["expert_is_full"]
    assert d["cue"]["source"] == "speech" and not d["cue"]["understood"]
    assert words in r["transcript"] or words in d["cue"]["message"], (r["transcript"], d["cue"]["message"])
    assert "full network" in r["explanation"]
    assert_alive(client)


def test_ten_minute_audio_is_cut(client, files):
    r = classify(client, audio=files["ten_minutes.wav"])
    d = r["details"]
    assert d["ok"]
    assert any("cut" in n for n in d["cue"]["notes"]), d["cue"]
    assert_alive(client)


def test_8khz_stereo_speech_is_understood(client, files):
    r = classify(client, audio=files["stereo_8k.wav"])
    d = r["details"]
    assert d["cue"]["understood"], d["cue"]
    assert d["selection"] == ["domestic_cat"]


# --- bad cues and selections ---------------------------------------------------------------------
def test_empty_cue_and_empty_picker_use_the_full_network(client):
    r = classify(client, cue="", selection=[])
    d = r["details"]
    assert d["ok"] and d["expert_is_full"] and d["selection"] == []
    assert "Nothing was selected" in r["explanation"] and "full network" in r["explanation"]


@pytest.mark.parametrize("cue", ["qwxz blorf zzkk", "x" * 10_000])
def test_cue_matching_nothing_says_so(client, cue):
    r = classify(client, cue=cue)
    d = r["details"]
    assert d["ok"] and d["expert_is_full"] and not d["cue"]["understood"]
    assert "names no category" in r["explanation"] and "full network" in r["explanation"], r["explanation"]
    assert len(r["explanation"]) < 400  # a 10k-character cue is not echoed back
    assert_alive(client)


def test_ten_thousand_character_cue_with_words(client):
    r = classify(client, cue="meow " * 2_000)
    d = r["details"]
    assert d["ok"] and d["selection"] == ["domestic_cat"]
    short = classify(client, cue="meow")["explanation"]  # the long cue is clipped: its sentence grows by little
    assert len(r["explanation"]) < len(short) + 60 and any("cut" in n for n in d["cue"]["notes"]), d["cue"]["notes"]


def test_emoji_cue(client):
    r = classify(client, cue="🐱")
    assert r["details"]["selection"] == ["domestic_cat"], r["details"]["cue"]


def test_everything_selected(client, demo_engine):
    everything = [v for _, v in demo_engine.picker_choices()]
    r = classify(client, selection=everything)
    d = r["details"]
    assert d["ok"] and d["expert_is_full"] and d["n_categories"] == 1000
    assert "Everything was selected" in r["explanation"]
    assert "full NHL" in r["costs"]


def test_unknown_picker_entries_are_reported(client):
    r = classify(client, selection=["no such thing", "domestic cat"])  # a typed name works too
    d = r["details"]
    assert d["selection"] == ["domestic_cat"]
    assert any("no such thing" in n for n in d["notes"])


# --- concurrency ---------------------------------------------------------------------------------
def test_concurrent_clients_get_their_own_answers(demo_app):
    """20 clients at once, each with its own cue and gain, get exactly what they get alone."""
    from gradio_client import Client

    _, url = demo_app
    cues = ["meow", "dog", "a cup of coffee", "bird", "not a cat", "", "a car", "fish", "qwxz", "🐱"]
    jobs = [(cues[i % len(cues)], 1.0 + 0.5 * (i % 8), "inhibit" if i % 7 == 3 else "enhance")
            for i in range(N_CLIENTS)]
    image = COFFEE
    alone_client = Client(url, verbose=False)
    alone = [answer_of(classify(alone_client, image=image, cue=c, gain=g, mode=m)["details"]) for c, g, m in jobs]
    clients = [Client(url, verbose=False) for _ in range(N_CLIENTS)]
    together: list[dict | None] = [None] * N_CLIENTS
    errors: list[BaseException] = []
    barrier = threading.Barrier(N_CLIENTS)

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            c, g, m = jobs[i]
            together[i] = answer_of(classify(clients[i], image=image, cue=c, gain=g, mode=m)["details"])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for i, (a, b) in enumerate(zip(alone, together)):
        assert a == b, f"client {i} ({jobs[i]}) got a different answer when run concurrently"
    assert len({str(a["gains"]) for a in alone}) > 5  # the jobs really differ


def test_the_ui_names_the_languages_it_understands(demo_app):
    """Issue #17: cues are understood in four languages, and the page says which (an Italian speaker
    must not expect to be understood)."""
    demo, _ = demo_app
    by_id = {c["props"].get("elem_id"): c["props"] for c in demo.config["components"]}
    for text in (by_id["cue-input"]["info"], by_id["audio-input"]["label"]):
        assert all(name in text for name in ("English", "German", "French", "Spanish")), text
        assert "Italian" not in text


def test_uploads_are_capped(client, tmp_path):
    """Files over the app's max_file_size are refused at upload, and the server keeps serving."""
    import importlib

    cap_mb = int(importlib.import_module("hldemo_app").MAX_FILE_SIZE.rstrip("mb"))
    big = tmp_path / "huge.png"
    with open(big, "wb") as f:
        f.truncate((cap_mb + 1) * 1024 * 1024)
    with pytest.raises(Exception) as e:
        classify(client, image=big)
    assert "size" in str(e.value).lower() or "413" in str(e.value) or "large" in str(e.value).lower(), e.value
    assert_alive(client)
