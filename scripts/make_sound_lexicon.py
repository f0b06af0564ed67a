"""Write ``hierarchies/lexicon/audioset.json``: which hierarchy node each of YAMNet's 521 AudioSet classes names.

Usage: ``python scripts/make_sound_lexicon.py [--check]`` (``--check``: exit 1 if the shipped file differs).

How a class gets its node:

1. :data:`SEEDS` names the node for the AudioSet classes that have an ImageNet counterpart, always the
   most specific node that is right for *any* recording of the class ("Guitar" -> string instruments,
   "Electric guitar" -> the electric guitar category, "Owl" -> birds of prey: ImageNet's only owl is the
   great grey owl). ``None`` seeds stop inheritance ("Tick": clocks tick, but so does much else).
2. Every other class inherits through the AudioSet ontology (``checkpoints/yamnet/audioset_ontology.json``):
   from its parents that have a node ("Meow" and "Purr" under "Cat" -> domestic cat). Parents that disagree
   give their lowest common node in the hierarchy, or nothing when that is the root ("Growling" is under
   Dog, Cat and Roaring cats: nothing).
3. Generic classes (Animal, Domestic animals, Music, Vehicle, Engine, Musical instrument...) have no seed
   and no mapped parent, so they name nothing.

The file also lists the classes under "Speech" in the ontology (a clip led by them goes to Whisper).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from hldemo.cues.sounds import CLASS_MAP, SOUND_LEXICON as OUT, load_ontology
from hldemo.hierarchy import load_hierarchy
SPEECH_ROOT = "Speech"

# AudioSet display name -> hierarchy node (id, category name or wnid); None: names nothing, and blocks inheritance.
SEEDS: dict[str, str | None] = {
    # animals
    "Dog": "dog", "Cat": "domestic_cat", "Horse": "horses", "Cattle, bovinae": "cattle", "Pig": "pigs",
    "Goat": "sheep_and_goats", "Sheep": "sheep_and_goats", "Fowl": "birds", "Chicken, rooster": "poultry_and_game_birds",
    "Crowing, cock-a-doodle-doo": "cock", "Turkey": "poultry_and_game_birds", "Duck": "ducks_and_waterfowl",
    "Goose": "goose", "Roaring cats (lions, tigers)": "big_cats", "Bird": "birds", "Pigeon, dove": "birds",
    "Crow": "birds", "Owl": "birds_of_prey", "Bird flight, flapping wings": "birds", "Rodents, rats, mice": "rodents",
    "Patter": None, "Insect": "insects_bugs", "Cricket": "cricket", "Mosquito": "insects_bugs", "Fly, housefly": "fly",
    "Bee, wasp, etc.": "bees_ants_flies", "Frog": "frogs", "Snake": "snakes", "Whale vocalization": "whales_and_seals",
    # musical instruments
    "Plucked string instrument": "string_instruments", "Electric guitar": "electric guitar",
    "Acoustic guitar": "acoustic guitar", "Banjo": "banjo", "Keyboard (musical)": "keyboard_instruments",
    "Organ": "organ", "Synthesizer": None, "Sampler": None, "Percussion": "percussion_instruments",
    "Drum machine": None, "Drum": "drum", "Rattle (instrument)": "maraca", "Gong": "gong", "Tubular bells": "chime",
    "Marimba, xylophone": "marimba", "Steelpan": "steel drum", "Brass instrument": "brass_instruments",
    "French horn": "French horn", "Trumpet": "cornet", "Trombone": "trombone",
    "Bowed string instrument": "string_instruments", "Violin, fiddle": "violin", "Cello": "cello",
    "Wind instrument, woodwind instrument": "woodwind_instruments", "Flute": "flute", "Saxophone": "sax",
    "Harp": "harp", "Bell": "chime", "Jingle bell": None, "Bicycle bell": "bikes_and_scooters", "Tuning fork": None,
    "Harmonica": "harmonica", "Accordion": "accordion", "Bagpipes": "woodwind_instruments",
    "Didgeridoo": "woodwind_instruments", "Cowbell": None,
    # vehicles
    "Sailboat, sailing ship": "boats", "Rowboat, canoe, kayak": "canoe", "Motorboat, speedboat": "speedboat", "Ship": "ships",
    "Motor vehicle (road)": "cars_road_vehicles", "Car": "cars",
    "Vehicle horn, car horn, honking": "cars_road_vehicles", "Race car, auto racing": "racer",
    "Truck": "trucks_and_vans", "Bus": "buses", "Emergency vehicle": "emergency_vehicles",
    "Police car (siren)": "police van", "Ambulance (siren)": "ambulance", "Fire engine, fire truck (siren)": "fire engine",
    "Motorcycle": "bikes_and_scooters", "Traffic noise, roadway noise": "cars_road_vehicles", "Rail transport": "trains",
    "Aircraft": "aircraft", "Bicycle": "bikes_and_scooters", "Lawn mower": "lawn mower", "Chainsaw": "chain saw",
    # household, tools, devices
    "Sliding door": "sliding door", "Microwave oven": "microwave", "Bathtub (filling or washing)": "bathtub",
    "Hair dryer": "hand blower", "Toilet flush": "toilet seat", "Vacuum cleaner": "vacuum", "Typewriter": "typewriter keyboard",
    "Computer keyboard": "computer keyboard", "Telephone": "phones", "Alarm clock": "clocks_and_watches",
    "Whistle": "whistle", "Steam whistle": None, "Clock": "clocks_and_watches", "Tick": None,
    "Sewing machine": "sewing machine", "Mechanical fan": "electric fan", "Printer": "printer",
    "Camera": "cameras_and_optics", "Single-lens reflex camera": "reflex camera", "Hammer": "hammer",
    "Jackhammer": "hand_tools", "Sawing": "hand_tools", "Power tool": "hand_tools", "Drill": "power drill", "Dental drill, dentist's drill": None,
    "Gunshot, gunfire": "guns", "Artillery fire": "cannon", "Cap gun": None,
}


def load_class_names(path: Path = CLASS_MAP) -> list[tuple[str, str]]:
    """YAMNet's ``(mid, display_name)`` per output index."""
    with path.open(encoding="utf-8", newline="") as f:
        return [(row["mid"], row["display_name"]) for row in csv.DictReader(f)]


def build() -> dict:
    h = load_hierarchy()
    by_name, parents = load_ontology()
    classes = load_class_names()
    for name, key in SEEDS.items():
        if name not in by_name:
            raise SystemExit(f"seed {name!r} is no AudioSet class")
        if key is not None and key not in h:
            raise SystemExit(f"seed {name!r} -> {key!r}: no such node in {h.id}")

    def lca(ids: set[str]) -> str | None:
        paths = [h.lineage(i)[::-1] for i in ids]
        common = [a for a, *rest in zip(*paths) if all(a == b for b in rest)]
        return common[-1] if len(common) > 1 else None  # common[0] is the root

    memo: dict[str, tuple[str | None, str]] = {}

    def node_of(name: str, seen=()) -> tuple[str | None, str]:
        if name in memo:
            return memo[name]
        if name in SEEDS:
            key = SEEDS[name]
            out = (h.node(key).id if key else None, "seed")
        else:
            got = {p: node_of(p, seen + (name,))[0] for p in sorted(parents.get(name, ())) if p not in seen}
            ids = {v for v in got.values() if v}
            node = lca(ids) if ids else None
            out = (node, "from " + ", ".join(p for p, v in got.items() if v) if node else "")
        memo[name] = out
        return out

    speech = set()
    stack = [SPEECH_ROOT]
    while stack:
        e = by_name[stack.pop()]
        speech.add(e["name"])
        stack += [c["name"] for c in by_name.values() if c["id"] in e["child_ids"]]
    rows = []
    for i, (mid, name) in enumerate(classes):
        node, how = node_of(name)
        rows.append({"index": i, "mid": mid, "name": name, "node": node,
                     "node_name": h.display_name(node) if node else None, "how": how})
    return {
        "about": ("Which hierarchy node each YAMNet (AudioSet) class names, for recorded sounds as cues. Generated by "
                  "scripts/make_sound_lexicon.py from its seeds and the AudioSet ontology (CC BY-SA 4.0, Google); "
                  "node null: the class names nothing ImageNet has, or only a generic group (Animal, Music, Vehicle). "
                  "'speech': the classes under Speech in the ontology."),
        "hierarchy": h.id,
        "speech": sorted(r["index"] for r in rows if r["name"] in speech),
        "classes": rows,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing it")
    args = p.parse_args(argv)
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT}: {'up to date' if same else 'differs: rerun scripts/make_sound_lexicon.py'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    n = sum(r["node"] is not None for r in json.loads(text)["classes"])
    print(f"wrote {OUT}: {n} of 521 classes name a node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
