"""Generate the category hierarchies shipped in ``hierarchies/``.

Three trees over the 1000 ImageNet-1k categories are written, in the JSON format read by
:mod:`hldemo.hierarchy` (see its module docstring):

``wordnet.json``
    A mechanical 3-level cut of the WordNet graph (``is_a.txt`` + ``words.txt``): level 1 and
    level 2 are WordNet synsets chosen by size (large synsets are split into their hyponyms,
    chains of single hyponyms are collapsed, small siblings are pooled into an "other ..." group).
``superclass.json``
    The 2-level grouping of ``superclass.txt`` / ``superclass_names.txt`` (S. Kumano, MIT licence):
    level 1 = the 558 superclasses, level 2 = the categories.
``curated.json``
    The default tree of the demo: 29 level-1 groups and 145 level-2 groups that a person would
    name ("dog" -> "terriers" -> "Border terrier"). Each category is placed by the rules of
    :data:`CURATED`: a level-2 group lists WordNet ancestor synsets and/or category names; a
    category goes to the group whose rule is its *nearest* ancestor (an explicitly named category
    is at distance 0, so the names double as the override table). Ties and left-overs are errors.

Category (leaf) nodes are the same in every tree: ``id`` = ``wnid`` = the ImageNet wnid, ``name`` =
the first lemma of timm's description (made unique, see :data:`LEAF_NAME_OVERRIDES`), ``synonyms`` =
the other lemmas, ``definition`` = timm's WordNet gloss.

Usage::

    python scripts/make_hierarchies.py [--data DIR] [--out DIR] [--only curated wordnet ...]

The output is deterministic (no network, no randomness): re-running reproduces the committed files
byte for byte, which ``tests/test_hierarchies.py`` checks.
"""

from __future__ import annotations

import argparse
import collections
import importlib.resources
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

from hldemo.hierarchy import Hierarchy

DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "hierarchy"
DEFAULT_OUT_DIR = REPO_ROOT / "hierarchies"
NUM_CLASSES = 1000
ROOT_WNID = "n00001740"  # entity

# ImageNet-1k has three first lemmas used by two categories each: name both readably.
LEAF_NAME_OVERRIDES = {
    "n02012849": "crane (bird)",
    "n03126707": "crane (machine)",
    "n02113186": "Cardigan (corgi)",
    "n02963159": "cardigan (sweater)",
    "n03710637": "maillot (tights)",
    "n03710721": "maillot (swimsuit)",
}

# --- wordnet.json: the mechanical cut ----------------------------------------------------------
WORDNET_L1_MAX = 80  # split level-1 synsets holding more categories than this ...
WORDNET_L1_MIN = 8  # ... and pool their hyponyms holding fewer than this into "other <synset>"
WORDNET_L2_MAX = 16  # the same within each level-1 group, for level 2
WORDNET_L2_MIN = 2

# --- superclass.json ----------------------------------------------------------------------------
SUPERCLASS_SOURCE = (
    "superclass.txt / superclass_names.txt from S. Kumano's 'ImageNet superclass' "
    "(Copyright (c) 2022 S. Kumano, MIT License; see ../shared/data/hierarchy/LICENSE), "
    "mapped to WordNet synsets via is_a.txt / words.txt")

# --- curated.json -------------------------------------------------------------------------------
# One entry per level-1 group: (id, name, wnid, synonyms, definition, level-2 groups), each level-2
# group: (id, name, wnid, synonyms, definition, rules). A rule is a wnid (an ancestor synset, or a
# category) or a category name (first lemma as in timm, or a LEAF_NAME_OVERRIDES name).
G = collections.namedtuple("G", "id name wnid synonyms definition children")
G.__doc__ = "A curated level-1 group; ``children`` are its level-2 groups (:class:`S`)."
S = collections.namedtuple("S", "id name wnid synonyms definition rules")
S.__doc__ = "A curated level-2 group; ``rules`` are wnids or category names (see :func:`assign_curated`)."

CURATED = [
    G("dog", "dog", "n02084071", ["dogs", "puppy", "puppies", "doggy", "doggie", "pup", "pooch", "hound",
                                 "domestic dog", "canine"],
      "a domesticated member of the genus Canis: all the dog breeds", [
          S("toy_dogs", "toy dogs", "n02085374", ["toy dog", "lap dog", "small dog"],
            "small breeds kept as pets and lap dogs",
            ["n02085374", "pug", "Brabancon griffon", "affenpinscher", "Lhasa"]),
          S("hounds", "hounds", "n02087551", ["hound", "hound dog", "greyhound", "beagle", "basset"],
            "dogs bred to hunt by scent or by sight",
            ["n02087551", "Rhodesian ridgeback"]),
          S("terriers", "terriers", "n02092468", ["terrier", "schnauzer"],
            "small to medium, lively dogs originally bred to hunt vermin",
            ["n02092468"]),
          S("sporting_dogs", "sporting dogs", "n02098550",
            ["sporting dog", "gun dog", "retriever", "spaniel", "setter", "pointer"],
            "retrievers, pointers, setters and spaniels bred to help hunters find and fetch game",
            ["n02098550"]),
          S("herding_dogs", "herding dogs", "n02104523",
            ["herding dog", "shepherd dog", "sheepdog", "sheep dog", "collie", "corgi"],
            "dogs bred to herd and guard livestock",
            ["n02104523", "n02112826"]),
          S("working_dogs", "working dogs", "n02103406",
            ["working dog", "guard dog", "watchdog", "mastiff", "mountain dog", "bulldog"],
            "large breeds bred to guard, pull or rescue: mastiffs, pinschers, mountain dogs",
            ["n02103406", "Leonberg", "Newfoundland", "Great Pyrenees"]),
          S("spitz_and_other_dogs", "spitz & other dogs", "n02111626",
            ["spitz", "sled dog", "husky", "poodle", "other dogs"],
            "spitz-type and sled dogs, poodles and other breeds",
            ["n02111626", "n02109811", "Eskimo dog", "n02113335", "dalmatian", "basenji",
             "Mexican hairless"]),
      ]),
    G("carnivores", "cats & other carnivores", "n02075296",
      ["carnivore", "carnivores", "predator", "predators", "wild animal", "wild animals", "feline"],
      "flesh-eating mammals other than dogs: cats, big cats, wolves, foxes, bears, weasels", [
          S("domestic_cat", "domestic cat", "n02121808",
            ["cat", "cats", "house cat", "housecat", "kitty", "kitten", "pussycat", "pet cat"],
            "any domesticated member of the genus Felis",
            ["n02121808"]),
          S("big_cats", "big cats", "n02127808",
            ["big cat", "wild cat", "wildcat", "lion", "tiger", "leopard", "jaguar", "cheetah", "panther",
             "cougar", "lynx"],
            "lions, tigers, leopards and other wild cats",
            ["n02127808", "n02124623"]),
          S("wolves_and_wild_dogs", "wolves & wild dogs", "n02114100",
            ["wolf", "wolves", "wild dog", "coyote", "dingo", "hyena", "jackal"],
            "wild members of the dog family, and the hyena",
            ["n02114100", "n02115335", "hyena"]),
          S("foxes", "foxes", "n02118333", ["fox", "vixen"],
            "small wild canines with pointed muzzles and bushy tails",
            ["n02118333"]),
          S("bears_and_pandas", "bears & pandas", "n02131653", ["bear", "bears", "panda", "polar bear",
                                                                 "grizzly"],
            "bears, the giant panda and the red panda",
            ["n02131653", "n02507649"]),
          S("weasels_and_kin", "weasels, otters & mongooses", "n02441326",
            ["weasel", "otter", "badger", "skunk", "ferret", "mink", "mongoose", "meerkat", "mustelid"],
            "small carnivores: the weasel family, mongooses and meerkats",
            ["n02441326", "n02134971"]),
      ]),
    G("birds", "birds", "n01503061", ["bird", "avian", "fowl", "feathered animal"],
      "warm-blooded egg-laying vertebrates with feathers and wings", [
          S("poultry_and_game_birds", "poultry & game birds", "n01789386",
            ["poultry", "chicken", "chickens", "rooster", "hen", "game bird", "grouse", "pheasant",
             "peacock", "quail"],
            "chickens and other ground-dwelling birds that are farmed or hunted",
            ["n01789386", "cock", "hen"]),
          S("songbirds", "songbirds", "n01525720",
            ["songbird", "perching bird", "passerine", "finch", "sparrow", "robin", "jay", "magpie"],
            "small perching birds, many with musical calls",
            ["n01524359"]),
          S("birds_of_prey", "birds of prey", "n01604330",
            ["bird of prey", "raptor", "eagle", "hawk", "owl", "vulture", "falcon"],
            "hunting birds with hooked beaks and talons",
            ["n01604330"]),
          S("parrots", "parrots", "n01816887", ["parrot", "macaw", "cockatoo", "parakeet"],
            "brightly coloured tropical birds with curved beaks",
            ["n01816887"]),
          S("ducks_and_waterfowl", "ducks & waterfowl", "n01845132",
            ["duck", "ducks", "waterfowl", "water bird", "goose", "geese", "swan"],
            "ducks, geese and swans: swimming birds with webbed feet",
            ["n01845132", "n01845477", "black swan"]),
          S("seabirds", "seabirds", "n02021795", ["seabird", "sea bird", "penguin", "pelican",
                                                  "albatross"],
            "birds of the open sea and coasts",
            ["n02021795"]),
          S("wading_birds", "wading & shore birds", "n02000954",
            ["wading bird", "wader", "shorebird", "heron", "stork", "flamingo", "crane", "sandpiper"],
            "long-legged birds of marshes and shores",
            ["n02000954", "European gallinule"]),
          S("other_birds", "tropical & other birds", None,
            ["tropical bird", "toucan", "hummingbird", "hornbill", "ostrich", "cuckoo"],
            "toucans, hummingbirds, hornbills, the ostrich and other birds",
            ["ostrich", "coucal", "bee eater", "hornbill", "hummingbird", "jacamar", "toucan"]),
      ]),
    G("reptiles_amphibians", "reptiles & amphibians", "n01661091",
      ["reptile", "reptiles", "amphibian", "amphibians", "herp", "cold-blooded animal"],
      "scaly or slimy cold-blooded vertebrates: snakes, lizards, turtles, frogs, salamanders", [
          S("turtles", "turtles", "n01662784", ["turtle", "tortoise", "terrapin", "sea turtle"],
            "reptiles with a bony shell",
            ["n01662784"]),
          S("lizards", "lizards", "n01674464",
            ["lizard", "gecko", "iguana", "chameleon", "dragon", "monitor lizard"],
            "scaly four-legged reptiles with long tails",
            ["n01674464"]),
          S("crocodiles_and_dinosaurs", "crocodiles & dinosaurs", "n01696633",
            ["crocodile", "alligator", "crocodilian", "dinosaur", "triceratops"],
            "crocodiles, alligators and (extinct) dinosaurs",
            ["n01696633", "triceratops"]),
          S("snakes", "snakes", "n01726692",
            ["snake", "snakes", "serpent", "viper", "cobra", "python", "rattlesnake", "boa"],
            "limbless scaly reptiles",
            ["n01726692"]),
          S("salamanders", "salamanders & newts", "n01629276", ["salamander", "newt", "axolotl", "eft"],
            "lizard-shaped amphibians",
            ["n01629276"]),
          S("frogs", "frogs & toads", "n01639765", ["frog", "frogs", "toad", "toads", "bullfrog"],
            "tailless jumping amphibians",
            ["n01639765"]),
      ]),
    G("fish_sea_life", "fish & sea life", "n02512053",
      ["fish", "fishes", "sea life", "marine life", "sea creature", "sea animal", "aquatic animal",
       "ocean", "underwater"],
      "fish, whales and seals, and sea invertebrates: crabs, shellfish, jellyfish, corals", [
          S("sharks_and_rays", "sharks & rays", "n01482071", ["shark", "sharks", "ray", "stingray"],
            "cartilaginous fish",
            ["n01482071"]),
          S("reef_fish", "aquarium & reef fish", None,
            ["aquarium fish", "reef fish", "tropical fish", "goldfish", "clownfish", "pufferfish"],
            "colourful fish of coral reefs and aquariums",
            ["goldfish", "rock beauty", "anemone fish", "lionfish", "puffer"]),
          S("river_and_food_fish", "river & food fish", "n02514825",
            ["food fish", "river fish", "salmon", "eel", "sturgeon", "carp", "bony fish"],
            "eels, salmon, sturgeon and other fish that are caught to eat",
            ["n02512053"]),
          S("whales_and_seals", "whales, seals & sea cows", "n02062017",
            ["whale", "whales", "seal", "seals", "sea lion", "orca", "dolphin", "dugong",
             "marine mammal", "aquatic mammal"],
            "mammals that live in the sea",
            ["n02062017"]),
          S("crustaceans", "crabs, lobsters & crayfish", "n01974773",
            ["crab", "crabs", "lobster", "crayfish", "crustacean", "shellfish", "seafood"],
            "crustaceans: hard-shelled sea and river arthropods",
            ["n01974773"]),
          S("mollusks", "snails, slugs & mollusks", "n01940736",
            ["mollusk", "mollusc", "snail", "slug", "conch", "shell", "nautilus"],
            "soft-bodied invertebrates, most of them in a shell",
            ["n01940736"]),
          S("jellyfish_and_corals", "jellyfish, corals & starfish", "n01909422",
            ["jellyfish", "coral", "sea anemone", "starfish", "sea star", "sea urchin", "echinoderm"],
            "cnidarians and echinoderms: jellyfish, anemones, corals, starfish, urchins",
            ["n01909422", "n02316707"]),
      ]),
    G("insects_bugs", "insects & bugs", "n02159955",
      ["insect", "insects", "bug", "bugs", "creepy crawly", "arthropod", "invertebrate"],
      "insects, spiders and other small crawling invertebrates", [
          S("beetles", "beetles", "n02164464", ["beetle", "ladybug", "ladybird", "weevil"],
            "insects with hard wing cases",
            ["n02164464"]),
          S("butterflies", "butterflies", "n02274259", ["butterfly", "moth", "caterpillar"],
            "insects with large colourful wings",
            ["n02274024"]),
          S("bees_ants_flies", "bees, ants & flies", "n02206270",
            ["bee", "bees", "wasp", "ant", "ants", "fly", "flies", "honeybee", "bumblebee", "honeycomb"],
            "bees (and their honeycomb), ants and flies",
            ["n02206270", "fly", "honeycomb"]),
          S("grasshoppers_and_kin", "grasshoppers, crickets & mantises", "n02226183",
            ["grasshopper", "cricket", "locust", "mantis", "praying mantis", "cockroach", "stick insect"],
            "grasshoppers, crickets, mantises, cockroaches and stick insects",
            ["n02226183", "n02232951", "walking stick"]),
          S("dragonflies_and_kin", "dragonflies & cicadas", None,
            ["dragonfly", "damselfly", "cicada", "leafhopper", "lacewing"],
            "dragonflies, damselflies, cicadas, leafhoppers and lacewings",
            ["n02268148", "n02246011", "lacewing"]),
          S("spiders_and_scorpions", "spiders & scorpions", "n01769347",
            ["spider", "spiders", "arachnid", "scorpion", "tick", "tarantula"],
            "eight-legged arthropods",
            ["n01769347", "spider web"]),
          S("worms_and_centipedes", "worms & centipedes", "n01922303",
            ["worm", "worms", "centipede", "millipede", "trilobite"],
            "worms, centipedes and the fossil trilobite",
            ["n01922303", "centipede", "trilobite"]),
      ]),
    G("primates", "primates", "n02469914", ["primate", "monkey", "monkeys", "ape", "apes"],
      "monkeys, apes and lemurs", [
          S("apes", "apes", "n02470325", ["ape", "great ape", "gorilla", "chimpanzee", "orangutan",
                                          "gibbon"],
            "tailless primates: great apes and gibbons",
            ["n02470325"]),
          S("old_world_monkeys", "Old World monkeys", "n02484473",
            ["baboon", "macaque", "langur", "colobus"],
            "monkeys of Africa and Asia",
            ["n02484473"]),
          S("new_world_monkeys", "New World monkeys", "n02489589",
            ["marmoset", "capuchin", "howler monkey", "spider monkey", "squirrel monkey"],
            "monkeys of Central and South America",
            ["n02489589"]),
          S("lemurs", "lemurs", "n02496913", ["lemur", "indri"],
            "primates of Madagascar",
            ["n02496913"]),
      ]),
    G("hoofed_mammals", "farm animals & hoofed mammals", "n02370806",
      ["farm animal", "farm animals", "livestock", "hoofed mammal", "ungulate", "ungulates"],
      "horses, pigs, cattle, sheep, goats, antelopes and camels", [
          S("horses", "horses & zebras", "n02374149",
            ["horse", "horses", "pony", "zebra", "equine", "mare", "stallion"],
            "horses and zebras",
            ["n02374149"]),
          S("pigs", "pigs", "n02395003", ["pig", "hog", "swine", "boar", "piglet", "warthog"],
            "domestic pigs and wild boars",
            ["n02395003"]),
          S("cattle", "cattle & buffalo", "n02402425",
            ["cattle", "cow", "cows", "ox", "oxen", "bull", "buffalo", "bison"],
            "cows, oxen, buffalo and bison",
            ["ox", "water buffalo", "bison"]),
          S("sheep_and_goats", "sheep & goats", "n02411705",
            ["sheep", "lamb", "ram", "goat", "goats", "ibex"],
            "sheep and goats, tame and wild",
            ["ram", "bighorn", "ibex"]),
          S("antelopes", "antelopes", "n02419796", ["antelope", "gazelle", "impala", "deer"],
            "graceful, fast-running horned grazers of Africa",
            ["n02419796"]),
          S("camels_and_llamas", "camels & llamas", "n02437136", ["camel", "llama", "dromedary"],
            "camels and llamas",
            ["Arabian camel", "llama"]),
      ]),
    G("other_mammals", "other mammals", "n01861778",
      ["mammal", "mammals", "wildlife", "animal", "animals", "rodent"],
      "elephants, rabbits, rodents, marsupials and other mammals", [
          S("elephants_and_hippos", "elephants & hippos", "n02503517",
            ["elephant", "elephants", "hippo", "hippopotamus", "tusker", "pachyderm"],
            "elephants and the hippopotamus: very large thick-skinned mammals",
            ["n02503517", "tusker", "hippopotamus"]),
          S("rabbits", "rabbits & hares", "n02324045", ["rabbit", "rabbits", "bunny", "hare"],
            "long-eared hopping mammals",
            ["n02323902"]),
          S("rodents", "rodents", "n02329401",
            ["rodent", "rat", "squirrel", "hamster", "guinea pig", "beaver", "porcupine", "marmot"],
            "gnawing mammals: squirrels, hamsters, beavers",
            ["n02329401"]),
          S("marsupials", "marsupials & monotremes", "n01874434",
            ["marsupial", "kangaroo", "wallaby", "koala", "wombat", "platypus", "echidna"],
            "pouched and egg-laying mammals of Australia",
            ["n01873982", "n01871543"]),
          S("armadillos_and_sloths", "armadillos & sloths", "n02453611",
            ["armadillo", "sloth", "edentate"],
            "armadillos and sloths",
            ["n02453611"]),
      ]),
    G("food", "food & drinks", "n00021265",
      ["food", "foods", "meal", "edible", "dish", "drink", "drinks", "snack", "eat", "something to eat"],
      "prepared food, bread, desserts and drinks", [
          S("dishes", "dishes & meals", "n07557434",
            ["dish", "meal", "dinner", "lunch", "pizza", "soup", "stew", "pasta"],
            "cooked dishes and meals",
            ["n07557434", "plate", "guacamole", "mashed potato", "carbonara"]),
          S("bread_and_snacks", "bread & fast food", "n07679356",
            ["bread", "fast food", "snack", "sandwich", "burger", "hamburger", "hot dog", "bagel",
             "pretzel", "baked goods"],
            "bread, pretzels, burgers and hot dogs",
            ["n07679356", "n07695965", "dough"]),
          S("desserts", "desserts & sweets", "n07609840",
            ["dessert", "sweets", "ice cream", "pudding", "sweet", "candy"],
            "sweet dishes served at the end of a meal",
            ["n07609840", "chocolate sauce"]),
          S("drinks", "drinks", "n07881800",
            ["drink", "beverage", "coffee", "wine", "alcohol", "cocktail", "punch"],
            "things to drink",
            ["n07881800"]),
      ]),
    G("fruit_vegetables", "fruit & vegetables", "n07705711",
      ["fruit", "fruits", "vegetable", "vegetables", "veggies", "produce", "greens", "edible"],
      "fresh fruit and vegetables", [
          S("cabbages_and_greens", "cabbages & greens", "n07713395",
            ["cabbage", "broccoli", "cauliflower", "artichoke", "greens", "leafy vegetable"],
            "cabbages, broccoli and other green vegetables",
            ["n07713395", "artichoke", "cardoon"]),
          S("squashes_and_peppers", "squashes, peppers & cucumbers", "n07715561",
            ["squash", "pumpkin", "zucchini", "courgette", "pepper", "cucumber", "gourd"],
            "fruiting vegetables: squashes, peppers and cucumbers",
            ["n07715561", "bell pepper", "cucumber"]),
          S("everyday_fruit", "apples, citrus & berries", "n07705931",
            ["apple", "orange", "lemon", "citrus", "berry", "strawberry", "banana"],
            "common fruit: apples, oranges, lemons, strawberries, bananas",
            ["Granny Smith", "strawberry", "orange", "lemon", "banana"]),
          S("exotic_fruit", "exotic fruit", None,
            ["tropical fruit", "pineapple", "fig", "pomegranate", "jackfruit", "custard apple"],
            "pineapples, figs, pomegranates and other exotic fruit",
            ["fig", "pineapple", "jackfruit", "custard apple", "pomegranate"]),
      ]),
    G("nature", "nature & landscapes", "n00019128",
      ["nature", "landscape", "scenery", "outdoors", "plant", "plants", "natural object"],
      "landscapes, plants, flowers, mushrooms and crops", [
          S("mountains_and_valleys", "mountains & valleys", "n09366317",
            ["mountain", "mountains", "valley", "cliff", "volcano", "alps", "hill"],
            "high land, rock faces and valleys",
            ["n09366317", "cliff", "valley"]),
          S("coasts_and_waters", "coasts & waters", "n09433442",
            ["coast", "beach", "seaside", "shore", "lake", "reef", "geyser", "water"],
            "shores, lakes, reefs and springs",
            ["n09433442", "coral reef", "sandbar", "geyser"]),
          S("flowers", "flowers", "n11669921", ["flower", "flowers", "blossom", "daisy", "orchid",
                                                "wildflower"],
            "flowering plants",
            ["n11669921", "rapeseed"]),
          S("crops_and_seeds", "crops, nuts & seeds", "n07802417",
            ["crop", "grain", "corn", "maize", "hay", "nut", "seed", "acorn"],
            "grain, hay and the seeds and nuts of plants",
            ["hay", "corn", "ear", "acorn", "hip", "buckeye"]),
          S("mushrooms", "mushrooms & fungi", "n12992868",
            ["mushroom", "mushrooms", "fungus", "fungi", "toadstool"],
            "mushrooms and other fungi",
            ["n12992868", "mushroom"]),
      ]),
    G("cars_road_vehicles", "cars & road vehicles", "n03791235",
      ["car", "cars", "vehicle", "vehicles", "motor vehicle", "road vehicle", "traffic", "automobile"],
      "cars, emergency vehicles, trucks and buses", [
          S("cars", "cars", "n02958343",
            ["car", "automobile", "auto", "motorcar", "taxi", "sports car", "limousine", "jeep"],
            "passenger cars",
            ["n02958343"]),
          S("emergency_vehicles", "emergency vehicles", None,
            ["emergency vehicle", "ambulance", "fire engine", "fire truck", "police car", "police van",
             "police", "siren"],
            "ambulances, fire engines and police vans",
            ["ambulance", "fire engine", "police van"]),
          S("trucks_and_vans", "trucks & vans", "n04490091",
            ["truck", "trucks", "lorry", "van", "pickup", "camper", "motorhome"],
            "trucks, vans and motorhomes",
            ["n04490091", "recreational vehicle"]),
          S("buses", "buses", "n02924116", ["bus", "buses", "school bus", "trolleybus", "minibus"],
            "buses and minibuses",
            ["n02924116"]),
      ]),
    G("other_vehicles", "trains, bikes & other vehicles", "n04576211",
      ["train", "bike", "bicycle", "cart", "tractor", "sled", "transport"],
      "trains, bicycles, carts, sleds, farm, work and military vehicles", [
          S("trains", "trains & trams", "n04468005",
            ["train", "trains", "railway", "railroad", "locomotive", "tram", "streetcar", "rail car"],
            "locomotives, railway cars and trams",
            ["bullet train", "n03684823", "freight car", "passenger car", "streetcar"]),
          S("bikes_and_scooters", "bikes, scooters & karts", "n02834778",
            ["bike", "bicycle", "cycle", "scooter", "moped", "motorbike", "tricycle", "kart"],
            "bicycles, scooters, mopeds and other small vehicles",
            ["n02834778", "moped", "motor scooter", "tricycle", "unicycle", "go-kart", "golfcart"]),
          S("carts_and_wagons", "carts & wagons", "n02970849",
            ["cart", "wagon", "wheelbarrow", "rickshaw", "shopping cart", "horse cart"],
            "carts pulled or pushed by people or animals",
            ["n02970849", "barrow", "shopping cart"]),
          S("sleds", "sleds & snowmobiles", "n04235291",
            ["sled", "sledge", "sleigh", "bobsled", "snowmobile", "snow vehicle"],
            "vehicles that run on snow and ice",
            ["n04235291", "snowmobile"]),
          S("work_and_military_vehicles", "farm, work & military vehicles", "n03764276",
            ["tractor", "forklift", "harvester", "combine", "snowplow", "tank", "military vehicle",
             "army", "crane", "construction machine"],
            "tractors, harvesters, forklifts, cranes, snowplows, tanks: machines built for a job",
            ["forklift", "tractor", "harvester", "thresher", "snowplow", "tank", "half track",
             "amphibian", "crane (machine)"]),
      ]),
    G("boats_aircraft", "boats & aircraft", "n03125870",
      ["boat", "boats", "ship", "ships", "aircraft", "airplane", "watercraft", "craft"],
      "boats, ships, aircraft and spacecraft", [
          S("boats", "boats & sailboats", "n02858304",
            ["boat", "boats", "sailboat", "sailing boat", "canoe", "rowboat", "speedboat", "gondola"],
            "small boats: canoes, sailboats, speedboats, lifeboats",
            ["n02858304", "n04128837", "catamaran", "trimaran", "paddlewheel"]),
          S("ships", "ships", "n04194289", ["ship", "ships", "liner", "cruise ship", "submarine",
                                            "warship", "shipwreck"],
            "large seagoing vessels",
            ["n04194289"]),
          S("aircraft", "aircraft & spacecraft", "n02686568",
            ["aircraft", "airplane", "aeroplane", "plane", "jet", "balloon", "airship", "space shuttle",
             "parachute"],
            "machines that fly",
            ["n02686568", "warplane", "space shuttle", "wing", "parachute"]),
      ]),
    G("musical_instruments", "musical instruments", "n03800933",
      ["musical instrument", "instrument", "music", "band", "orchestra"],
      "instruments for making music", [
          S("string_instruments", "string instruments", "n04338517",
            ["string instrument", "stringed instrument", "guitar", "violin", "cello", "banjo", "harp"],
            "instruments played by plucking or bowing strings",
            ["n04338517", "pick"]),
          S("keyboard_instruments", "pianos & keyboards", "n03614532",
            ["piano", "keyboard instrument", "organ", "accordion"],
            "pianos, organs and accordions",
            ["n03614532", "grand piano", "upright", "organ"]),
          S("brass_instruments", "brass instruments", "n02891788",
            ["brass", "trumpet", "horn", "trombone", "cornet", "tuba"],
            "lip-vibrated wind instruments",
            ["n02891788"]),
          S("woodwind_instruments", "woodwinds & pipes", "n04598582",
            ["woodwind", "flute", "saxophone", "sax", "oboe", "clarinet", "harmonica", "panpipe"],
            "flutes, reeds, harmonicas and pipes",
            ["n04586932"]),
          S("percussion_instruments", "drums & percussion", "n03915437",
            ["percussion", "drum", "drums", "gong", "xylophone", "marimba", "bell", "maraca"],
            "instruments that are struck or shaken",
            ["n03915437", "drumstick"]),
      ]),
    G("clothing", "clothing", "n03051540",
      ["clothes", "clothing", "garment", "garments", "outfit", "apparel", "wear", "dress"],
      "garments: dresses, shirts, coats, swimwear, ties", [
          S("dresses_and_robes", "dresses, skirts & robes", "n03236735",
            ["dress", "dresses", "skirt", "gown", "robe", "kimono"],
            "dresses, gowns, robes and skirts",
            ["n04230808", "abaya", "academic gown", "gown", "kimono", "vestment"]),
          S("tops_and_trousers", "shirts, sweaters & trousers", None,
            ["shirt", "t-shirt", "sweater", "jumper", "jeans", "trousers", "pants", "suit"],
            "everyday garments for the upper and lower body",
            ["cardigan (sweater)", "jersey", "sweatshirt", "jean", "suit"]),
          S("coats_and_uniforms", "coats & uniforms", "n03057021",
            ["coat", "jacket", "cloak", "raincoat", "uniform", "apron", "overcoat"],
            "outer garments and work clothes",
            ["n03057021", "poncho", "cloak", "military uniform", "apron"]),
          S("swimwear_and_underwear", "swimwear, underwear & nightwear", "n04371563",
            ["swimsuit", "swimwear", "bathing suit", "bikini", "underwear", "lingerie", "pajamas",
             "nightwear"],
            "swimsuits, underwear, nappies and pajamas",
            ["n04371563", "brassiere", "diaper", "pajama"]),
          S("ties_scarves_gloves", "ties, scarves & gloves", "n03816005",
            ["tie", "necktie", "bow tie", "scarf", "stole", "feather boa", "glove", "mitten"],
            "neckties, scarves and gloves",
            ["n03816005", "feather boa", "stole", "mitten"]),
      ]),
    G("accessories", "hats, shoes & accessories", "n02671780",
      ["accessories", "accessory", "hat", "shoes", "bag", "fashion"],
      "what is worn or carried with clothes: hats, shoes, jewellery, glasses, bags", [
          S("hats", "hats & caps", "n03497657",
            ["hat", "hats", "cap", "caps", "headwear", "bonnet", "sombrero"],
            "hats and caps",
            ["n03502509"]),
          S("shoes_and_socks", "shoes & socks", "n03380867",
            ["shoe", "shoes", "boot", "boots", "footwear", "sandal", "sock", "socks", "stocking"],
            "footwear and hosiery",
            ["n03380867", "n03381126"]),
          S("jewelry_and_eyewear", "jewellery & other accessories", "n03597469",
            ["jewelry", "jewellery", "necklace", "glasses", "sunglasses", "shades", "wig",
             "hair clip", "umbrella"],
            "jewellery, sunglasses, hair slides, wigs and umbrellas",
            ["necklace", "sunglass", "sunglasses", "hair slide", "wig", "umbrella"]),
          S("bags", "bags & wallets", "n02773037",
            ["bag", "bags", "backpack", "purse", "handbag", "wallet", "sack"],
            "bags, purses and wallets",
            ["n02773037", "wallet", "sleeping bag"]),
      ]),
    G("weapons_armor", "weapons & armor", "n04565375",
      ["weapon", "weapons", "arms", "armor", "armour", "military", "war"],
      "guns, missiles, bows, armor, helmets and masks", [
          S("guns", "guns & cannons", "n03467984",
            ["gun", "guns", "firearm", "rifle", "pistol", "revolver", "cannon"],
            "firearms and artillery",
            ["n03467984"]),
          S("missiles_and_blades", "bows, missiles & sheaths", None,
            ["bow", "arrow", "missile", "rocket", "projectile", "holster", "scabbard", "sword"],
            "bows, missiles, the guillotine, holsters and scabbards",
            ["bow", "missile", "projectile", "guillotine", "holster", "scabbard"]),
          S("armor", "armor & shields", "n02739668",
            ["armor", "armour", "shield", "breastplate", "chain mail", "bulletproof vest"],
            "protective body armor and shields",
            ["n02739668", "breastplate", "knee pad"]),
          S("helmets_and_masks", "helmets & masks", "n03513137",
            ["helmet", "helmets", "mask", "masks", "gas mask", "snorkel", "respirator"],
            "helmets, masks and breathing masks",
            ["crash helmet", "football helmet", "pickelhaube", "mask", "gasmask", "ski mask", "oxygen mask", "snorkel"]),
      ]),
    G("furniture", "furniture", "n03405725",
      ["furniture", "furnishings", "chair", "table", "bed", "interior"],
      "chairs, beds, tables, cabinets and lamps", [
          S("seats", "chairs, benches & sofas", "n04161981",
            ["chair", "chairs", "seat", "bench", "sofa", "couch", "throne", "stool"],
            "things to sit on",
            ["n04161981"]),
          S("beds", "beds & bedding", "n02818832",
            ["bed", "beds", "crib", "cot", "cradle", "pillow", "quilt", "duvet", "bedding"],
            "beds, cots and bedding",
            ["n02766320", "four-poster", "quilt", "pillow"]),
          S("tables_and_cabinets", "tables, cabinets & shelves", "n04379243",
            ["table", "tables", "desk", "cabinet", "cupboard", "wardrobe", "shelf", "bookcase",
             "drawers"],
            "tables, desks, cabinets, wardrobes and bookcases",
            ["bookcase", "chiffonier", "n02933112", "desk", "dining table", "entertainment center",
             "file", "wardrobe"]),
          S("lamps_and_lights", "lamps, candles & matches", "n04263760",
            ["lamp", "lamps", "light", "lights", "candle", "torch", "lantern", "lighter", "match"],
            "sources of light and fire",
            ["n04263760", "lampshade", "table lamp", "lighter", "matchstick"]),
      ]),
    G("household", "household items", None,
      ["household", "household items", "housewares", "bathroom", "appliance"],
      "curtains, towels, toiletries, home appliances and first-aid items", [
          S("curtains_and_rugs", "curtains, screens & rugs", "n03151077",
            ["curtain", "curtains", "blind", "blinds", "rug", "mat", "carpet", "doormat"],
            "curtains, blinds, screens, nets and rugs",
            ["n03151077", "window shade", "window screen", "shoji", "mosquito net", "fire screen",
             "doormat", "prayer rug"]),
          S("cloth_and_towels", "cloth, towels & sewing", "n03309808",
            ["cloth", "fabric", "textile", "towel", "towels", "handkerchief", "tissue", "wool",
             "sewing"],
            "fabrics, towels, tissues and sewing things",
            ["n03309808", "toilet tissue", "thimble", "spindle"]),
          S("bathroom_and_cosmetics", "bathroom & cosmetics", "n04447443",
            ["bathroom", "bath", "cosmetics", "makeup", "lipstick", "perfume", "lotion", "toiletries",
             "sink"],
            "bathtubs, basins, soap, cosmetics and toiletries",
            ["n04447443", "bathtub", "washbasin", "soap dispenser"]),
          S("home_appliances", "home appliances", "n03528263",
            ["appliance", "appliances", "washing machine", "vacuum cleaner", "iron", "fan", "heater",
             "hair dryer"],
            "household machines for cleaning, washing, heating and sewing",
            ["washer", "iron", "vacuum", "sewing machine", "space heater", "electric fan",
             "hand blower", "radiator"]),
          S("medical_items", "medical & lab items", "n03739693",
            ["medical", "medicine", "first aid", "doctor", "hospital", "syringe", "bandage",
             "laboratory"],
            "first-aid, medical and laboratory items",
            ["n03739693", "Band Aid", "crutch", "neck brace", "stretcher", "Petri dish", "beaker"]),
      ]),
    G("kitchen", "kitchen items", "n03621377",
      ["kitchen", "kitchenware", "cookware", "tableware", "dishes", "cup", "cups", "cooking"],
      "cups, bottles, pots, pans, bowls, utensils and kitchen appliances", [
          S("cups_and_mugs", "cups, mugs & glasses", "n03797390",
            ["cup", "cups", "mug", "mugs", "coffee mug", "glass", "beer glass", "goblet",
             "drinking vessel"],
            "vessels to drink from",
            ["coffee mug", "n03438257", "cup", "measuring cup"]),
          S("bottles_and_jugs", "bottles & jugs", "n02876657",
            ["bottle", "bottles", "jug", "jugs", "pitcher", "flask"],
            "bottles, jugs and pitchers",
            ["n02876657", "pitcher", "bottlecap", "nipple"]),
          S("pots_and_pans", "pots & pans", "n03101986",
            ["pot", "pots", "pan", "pans", "frying pan", "wok", "teapot", "kettle", "cauldron"],
            "pots, pans and kettles for cooking and brewing",
            ["n03101986", "caldron", "coffeepot", "teapot", "Dutch oven"]),
          S("bowls_and_trays", "bowls, trays & shakers", "n02880940",
            ["bowl", "bowls", "tray", "plate rack", "shaker", "salt shaker", "mortar"],
            "bowls, trays, racks and shakers",
            ["n02880940", "tray", "plate rack", "n04183329", "mortar"]),
          S("kitchen_utensils", "kitchen utensils", "n03621049",
            ["utensil", "utensils", "ladle", "spatula", "spoon", "strainer", "can opener", "corkscrew",
             "knife"],
            "hand utensils for preparing and serving food",
            ["ladle", "spatula", "wooden spoon", "strainer", "can opener", "corkscrew", "cleaver"]),
          S("kitchen_appliances", "kitchen appliances", "n03620052",
            ["kitchen appliance", "oven", "microwave", "toaster", "fridge", "refrigerator", "stove",
             "dishwasher", "coffee maker"],
            "electric and gas appliances of the kitchen",
            ["n03620052", "dishwasher", "refrigerator", "stove"]),
      ]),
    G("containers", "boxes, barrels & baskets", "n03094503",
      ["container", "containers", "box", "boxes", "barrel", "basket", "bin", "storage"],
      "boxes, barrels, buckets, bins, baskets and vases", [
          S("boxes", "boxes & crates", "n02883344",
            ["box", "boxes", "crate", "carton", "chest", "package", "parcel", "safe"],
            "boxes, crates, chests and packets",
            ["n02883344", "packet"]),
          S("barrels_and_bins", "barrels, buckets & bins", "n02795169",
            ["barrel", "cask", "bucket", "pail", "bin", "trash can", "can"],
            "barrels, buckets, tubs, cans and bins",
            ["barrel", "bucket", "milk can", "rain barrel", "tub", "ashcan"]),
          S("baskets_and_vases", "baskets, vases & flowerpots", "n02801938",
            ["basket", "baskets", "hamper", "vase", "flowerpot", "plant pot", "piggy bank"],
            "baskets, vases, flowerpots and money boxes",
            ["n02801938", "vase", "pot", "piggy bank"]),
      ]),
    G("tools_hardware", "tools & hardware", "n04451818",
      ["tool", "tools", "hardware", "equipment", "diy", "workshop"],
      "hand and power tools, garden tools, locks, fasteners and car parts", [
          S("hand_tools", "hand & power tools", "n03489162",
            ["hand tool", "power tool", "hammer", "screwdriver", "saw", "drill", "axe", "shovel",
             "toolbox"],
            "tools held in the hand, powered or not",
            ["n03489162", "hatchet", "chain saw", "power drill", "carpenter's kit", "potter's wheel"]),
          S("garden_and_cleaning_tools", "garden & cleaning tools", None,
            ["garden tool", "lawn mower", "plough", "plow", "broom", "mop", "brush", "paintbrush",
             "mousetrap"],
            "tools for the garden, the field and cleaning",
            ["lawn mower", "plow", "broom", "swab", "paintbrush", "mousetrap"]),
          S("locks_and_fasteners", "locks, chains & fasteners", "n03323703",
            ["lock", "padlock", "chain", "nail", "screw", "pin", "buckle", "hook", "knot", "rope"],
            "locks, chains, nails, screws, pins, knots and other fasteners",
            ["n03323703", "chain", "hook", "coil", "muzzle"]),
          S("car_parts", "car parts", "n02762044",
            ["car part", "wheel", "tyre", "tire", "brake", "mirror", "seat belt", "grille", "odometer"],
            "parts of cars: wheels, brakes, mirrors, filters, grilles, seat belts",
            ["car wheel", "disk brake", "oil filter", "seat belt", "car mirror", "grille", "odometer"]),
      ]),
    G("electronics", "electronics", "n03278248",
      ["electronics", "electronic device", "gadget", "device", "computer", "technology", "phone"],
      "computers, keyboards, phones, audio, TV and cameras", [
          S("computers", "computers & printers", "n03082979",
            ["computer", "computers", "pc", "laptop", "display", "printer", "computer screen"],
            "computers, screens, printers and storage",
            ["n03082979", "monitor", "screen", "printer", "photocopier", "modem", "hard disc"]),
          S("keyboards_and_controllers", "keyboards & controllers", None,
            ["keyboard", "computer mouse", "joystick", "remote control", "remote", "switch", "controller"],
            "keyboards, mice, joysticks, remote controls and switches",
            ["computer keyboard", "mouse", "space bar", "typewriter keyboard", "joystick",
             "remote control", "switch"]),
          S("phones", "telephones", "n04401088",
            ["phone", "telephone", "mobile phone", "cell phone", "smartphone", "payphone"],
            "telephones",
            ["n04401088"]),
          S("audio_and_tv", "audio & TV", "n02757462",
            ["audio", "music player", "radio", "tv", "television", "speaker", "loudspeaker",
             "microphone", "stereo"],
            "devices that record or play sound and pictures",
            ["iPod", "cassette player", "CD player", "tape player", "loudspeaker", "microphone",
             "radio", "television", "cassette", "home theater"]),
          S("cameras_and_optics", "cameras & optics", "n02942699",
            ["camera", "cameras", "binoculars", "projector", "lens", "magnifier", "tripod"],
            "cameras, projectors, binoculars and magnifiers",
            ["n02942699", "binoculars", "loupe", "projector", "lens cap", "tripod"]),
      ]),
    G("buildings", "buildings", "n02913152",
      ["building", "buildings", "house", "architecture", "shop", "church", "city"],
      "shops, churches, palaces, homes and public buildings", [
          S("shops", "shops & restaurants", "n04202417",
            ["shop", "shops", "store", "shopfront", "bakery", "market", "restaurant"],
            "places that sell goods or meals",
            ["n04202417", "grocery store", "restaurant"]),
          S("churches_and_palaces", "churches, temples & palaces", "n03953416",
            ["church", "temple", "mosque", "monastery", "palace", "castle", "place of worship"],
            "places of worship, palaces and castles",
            ["n03953416", "monastery", "palace", "castle", "altar", "bell cote"]),
          S("homes_and_farm_buildings", "homes, huts & farm buildings", "n03259505",
            ["home", "house", "hut", "tent", "barn", "shed", "greenhouse", "yurt"],
            "dwellings, tents, sheds and farm buildings",
            ["n03259505", "mobile home", "boathouse", "barn", "apiary", "greenhouse", "mountain tent",
             "birdhouse"]),
          S("public_buildings", "public buildings & stages", None,
            ["library", "cinema", "movie theater", "planetarium", "prison", "sawmill", "stage",
             "public building"],
            "libraries, cinemas, planetariums, prisons, mills and stages",
            ["library", "cinema", "planetarium", "prison", "lumbermill", "stage"]),
      ]),
    G("structures", "structures & street objects", "n04341686",
      ["structure", "structures", "construction", "street", "outdoor", "urban"],
      "bridges, towers, monuments, fences, roofs and street furniture", [
          S("bridges_and_docks", "bridges, docks & dams", "n02898711",
            ["bridge", "bridges", "dock", "pier", "dam", "breakwater", "viaduct", "harbour"],
            "bridges, viaducts, dams and waterfront structures",
            ["n02898711", "dam", "breakwater", "dock", "pier", "drilling platform"]),
          S("towers_and_poles", "towers, poles & dishes", "n04460130",
            ["tower", "lighthouse", "pole", "flagpole", "totem pole", "antenna", "satellite dish",
             "telescope"],
            "tall structures, poles and dish antennas",
            ["beacon", "water tower", "radio telescope", "solar dish", "flagpole", "maypole",
             "totem pole", "pole"]),
          S("monuments", "monuments & fountains", "n03743902",
            ["monument", "memorial", "obelisk", "arch", "statue", "fountain", "plaque"],
            "monuments, memorials, pedestals and fountains",
            ["n03743902", "obelisk", "fountain", "pedestal"]),
          S("fences_and_doors", "fences, walls & doors", "n03327234",
            ["fence", "fences", "wall", "gate", "door", "railing", "turnstile"],
            "fences, walls, railings, doors and turnstiles",
            ["n03327234", "bannister", "sliding door", "turnstile"]),
          S("roofs_and_domes", "roofs, domes & patios", "n04105068",
            ["roof", "roofs", "dome", "vault", "thatch", "patio", "terrace"],
            "roofs, domes, vaults and terraces",
            ["n04105068", "patio"]),
          S("street_objects", "street signs & machines", None,
            ["street", "sign", "street sign", "traffic light", "vending machine", "atm",
             "parking meter", "slot machine", "manhole"],
            "street signs, traffic lights, manholes and coin machines",
            ["street sign", "traffic light", "manhole cover", "gas pump", "vending machine",
             "cash machine", "slot", "parking meter", "mailbox"]),
      ]),
    G("sports_toys", "sports, toys & people", "n04285146",
      ["sport", "sports", "game", "games", "toy", "toys", "play", "leisure", "people"],
      "balls, gym and sports gear, toys, rides, and people", [
          S("balls", "balls", "n02778669",
            ["ball", "balls", "football", "soccer ball", "basketball", "tennis ball", "baseball"],
            "balls for games and sports",
            ["n02778669"]),
          S("gym_equipment", "gym equipment", "n03472232",
            ["gym", "gymnastics", "weights", "barbell", "dumbbell", "fitness", "punching bag"],
            "weights, gymnastic apparatus and punching bags",
            ["n03472232", "barbell", "dumbbell", "punching bag"]),
          S("sports_gear", "rackets, skis & sports gear", "n04285622",
            ["racket", "ski", "skis", "puck", "hockey", "billiards", "paddle", "fishing reel",
             "whistle"],
            "rackets, skis, pucks, pool tables, paddles, reels and whistles",
            ["racket", "ski", "puck", "pool table", "paddle", "reel", "whistle", "scoreboard"]),
          S("toys_and_rides", "toys, puzzles & rides", "n03964744",
            ["toy", "toys", "teddy bear", "puzzle", "jigsaw", "carousel", "swing", "maze", "bubble"],
            "toys, puzzles, playground rides and soap bubbles",
            ["teddy", "jigsaw puzzle", "pinwheel", "carousel", "swing", "maze", "bubble"]),
          S("people", "people", "n00007846",
            ["person", "people", "human", "man", "woman", "diver", "player", "groom"],
            "people: a ballplayer, a bridegroom, a scuba diver",
            ["n00007846"]),
      ]),
    G("office_clocks", "office, clocks & gauges", None,
      ["office", "stationery", "school", "clock", "time", "measuring", "paper", "book"],
      "pens, paper and books, clocks and measuring instruments", [
          S("pens_and_stationery", "pens & stationery", "n04608567",
            ["pen", "pens", "pencil", "eraser", "sharpener", "stationery", "writing"],
            "pens and other things for writing",
            ["n04608567", "pencil sharpener", "rubber eraser", "pencil box", "letter opener"]),
          S("books_and_paper", "books, paper & envelopes", None,
            ["book", "books", "comic", "magazine", "crossword", "menu", "envelope", "binder",
             "paper"],
            "printed paper: comics, book jackets, crosswords, menus; envelopes and binders",
            ["comic book", "book jacket", "crossword puzzle", "menu", "envelope", "binder"]),
          S("clocks_and_watches", "clocks & watches", "n04437953",
            ["clock", "clocks", "watch", "watches", "timer", "hourglass", "sundial", "stopwatch",
             "time"],
            "instruments that tell or measure time",
            ["n04437953"]),
          S("measuring_instruments", "measuring instruments & calculators", "n03733925",
            ["measuring instrument", "gauge", "scale", "ruler", "compass", "barometer", "calculator",
             "abacus"],
            "instruments that measure or calculate",
            ["n03733925", "oscilloscope", "abacus", "slide rule", "magnetic compass"]),
      ]),
]


# ================================================================================================
# Data
# ================================================================================================
@dataclass
class WordNet:
    """The ImageNet WordNet graph and the 1k categories.

    Attributes:
        parents: child wnid -> parent wnids (file order of ``is_a.txt``).
        children: parent wnid -> child wnids (file order).
        lemmas: wnid -> its names (``words.txt``, split on ", ").
        classes: the 1000 ImageNet-1k wnids, sorted (= class index order).
        class_lemmas: wnid -> names from timm's description of the category.
        definitions: wnid -> WordNet gloss (timm's ``imagenet_synset_to_definition.txt``).
    """

    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    lemmas: dict[str, list[str]]
    classes: list[str]
    class_lemmas: dict[str, list[str]]
    definitions: dict[str, str]
    _ancestors: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def ancestors(self, wnid: str) -> dict[str, int]:
        """All ancestors of ``wnid`` (itself included, at 0) with their shortest is_a distance."""
        if wnid not in self._ancestors:
            dist = {wnid: 0}
            frontier = [wnid]
            while frontier:
                nxt = []
                for w in frontier:
                    for p in self.parents.get(w, ()):
                        if p not in dist:
                            dist[p] = dist[w] + 1
                            nxt.append(p)
                frontier = nxt
            self._ancestors[wnid] = dist
        return self._ancestors[wnid]

    def name(self, wnid: str) -> str:
        """First lemma of a synset."""
        return self.lemmas[wnid][0]


def _read_lines(path: Path) -> list[str]:
    """Lines of a text file; a missing final newline does not lose the last line."""
    return path.read_text(encoding="utf-8").splitlines()


def load_wordnet(data_dir: Path) -> WordNet:
    """Read ``is_a.txt`` and ``words.txt`` from ``data_dir`` and the 1k categories from timm."""
    from timm.data import ImageNetInfo

    parents: dict[str, list[str]] = collections.defaultdict(list)
    children: dict[str, list[str]] = collections.defaultdict(list)
    for line in _read_lines(data_dir / "is_a.txt"):
        if line.strip():
            parent, child = line.split()
            parents[child].append(parent)
            children[parent].append(child)
    lemmas = {}
    for line in _read_lines(data_dir / "words.txt"):
        if line.strip():
            wnid, names = line.split("\t", 1)
            lemmas[wnid] = [n.strip() for n in names.split(", ")]
    info = ImageNetInfo()
    classes = list(info.label_names())
    if len(classes) != NUM_CLASSES or classes != sorted(classes):
        raise RuntimeError("timm's ImageNet-1k label names are not the 1000 sorted wnids")
    class_lemmas = {w: [n.strip() for n in info.index_to_description(i).split(", ")]
                    for i, w in enumerate(classes)}
    definitions = {}
    table = importlib.resources.files("timm.data") / "_info" / "imagenet_synset_to_definition.txt"
    for line in table.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            wnid, gloss = line.split("\t", 1)
            definitions[wnid] = gloss.strip()
    for i, w in enumerate(classes):  # the detailed description carries the gloss of a category
        detailed = info.index_to_description(i, detailed=True)
        if ": " in detailed:
            definitions[w] = detailed.split(": ", 1)[1].strip()
    missing = [w for w in classes if w not in lemmas or w not in parents]
    if missing:
        raise RuntimeError(f"{len(missing)} ImageNet-1k wnids are missing from {data_dir}: {missing[:5]}")
    return WordNet(dict(parents), dict(children), lemmas, classes, class_lemmas, definitions)


# ================================================================================================
# Nodes
# ================================================================================================
def slugify(text: str) -> str:
    """``"cats & other carnivores"`` -> ``"cats_other_carnivores"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")
    return slug or "node"


def leaf_name(wn: WordNet, wnid: str) -> str:
    """Readable, unique name of a category."""
    return LEAF_NAME_OVERRIDES.get(wnid, wn.class_lemmas[wnid][0])


def leaf_node(wn: WordNet, wnid: str) -> dict:
    """The JSON node of a category (identical in every tree)."""
    name = leaf_name(wn, wnid)
    synonyms = [s for s in wn.class_lemmas[wnid] if s.casefold() != name.casefold()]
    node = {"id": wnid, "name": name, "synonyms": synonyms, "wnid": wnid}
    if wnid in wn.definitions:
        node["definition"] = wn.definitions[wnid]
    return node


def inner_node(node_id: str, name: str, wnid: str | None, synonyms: list[str],
               definition: str | None, children: list[dict]) -> dict:
    """The JSON node of a group (key order fixed for readable, stable files)."""
    node = {"id": node_id, "name": name, "synonyms": list(synonyms), "wnid": wnid}
    if definition:
        node["definition"] = definition
    node["children"] = children
    return node


def hierarchy_document(hid: str, name: str, description: str, source: str, children: list[dict]) -> dict:
    """A whole hierarchy file: metadata and the root over the level-1 nodes ``children``."""
    root = inner_node("root", "all categories", None, [], None, children)
    return {"id": hid, "name": name, "description": description, "source": source, "root": root}


# ================================================================================================
# curated.json
# ================================================================================================
def _resolve_rule(wn: WordNet, rule: str, by_name: dict[str, list[str]]) -> str:
    """The wnid a curated rule stands for (a wnid itself, or a category's unique name)."""
    if re.fullmatch(r"n\d{8}", rule):
        if rule not in wn.lemmas:
            raise ValueError(f"curated rule {rule!r} is not a WordNet synset")
        return rule
    hits = by_name.get(rule.casefold(), [])
    if len(hits) != 1:
        raise ValueError(f"curated rule {rule!r} names {len(hits)} categories; use a wnid or a unique name")
    return hits[0]


def assign_curated(wn: WordNet, spec: list[G] = CURATED) -> dict[str, str]:
    """Map every category to a level-2 group id of ``spec`` (nearest rule ancestor wins).

    Raises:
        ValueError: a rule is unknown or ambiguous, a category is claimed by two groups at the
            same distance, or a category is left without a group.
    """
    by_name: dict[str, list[str]] = collections.defaultdict(list)
    for w in wn.classes:
        by_name[leaf_name(wn, w).casefold()].append(w)
    rule_to_group: dict[str, str] = {}
    for g in spec:
        for s in g.children:
            for rule in s.rules:
                wnid = _resolve_rule(wn, rule, by_name)
                if rule_to_group.setdefault(wnid, s.id) != s.id:
                    raise ValueError(f"curated rule {rule!r} is used by {rule_to_group[wnid]!r} and {s.id!r}")
    assignment, problems = {}, []
    for w in wn.classes:
        best: dict[str, int] = {}
        for anc, dist in wn.ancestors(w).items():
            if anc in rule_to_group:
                gid = rule_to_group[anc]
                best[gid] = min(dist, best.get(gid, dist))
        if not best:
            problems.append(f"{w} {leaf_name(wn, w)!r}: no group")
            continue
        d = min(best.values())
        winners = sorted(g for g, dd in best.items() if dd == d)
        if len(winners) > 1:
            problems.append(f"{w} {leaf_name(wn, w)!r}: tie between {winners} at distance {d}")
            continue
        assignment[w] = winners[0]
    if problems:
        raise ValueError("curated rules do not place every category exactly once:\n  " + "\n  ".join(problems))
    return assignment


def build_curated(wn: WordNet, data_dir: Path | None = None) -> dict:
    """The curated tree of :data:`CURATED`."""
    assignment = assign_curated(wn)
    members: dict[str, list[str]] = collections.defaultdict(list)
    for w, gid in assignment.items():
        members[gid].append(w)
    level1 = []
    for g in CURATED:
        level2 = []
        for s in g.children:
            if not members[s.id]:
                raise ValueError(f"curated group {s.id!r} holds no category")
            leaves = [leaf_node(wn, w) for w in sorted(members[s.id])]
            level2.append(inner_node(s.id, s.name, s.wnid, s.synonyms, s.definition, leaves))
        level1.append(inner_node(g.id, g.name, g.wnid, g.synonyms, g.definition, level2))
    return hierarchy_document(
        "curated", "Curated: everyday groups",
        "A hand-curated 3-level tree (group -> subgroup -> ImageNet-1k category) with groups a person "
        "would name, built by explicit rules over WordNet ancestors in scripts/make_hierarchies.py.",
        "ImageNet-1k categories and WordNet 3.0 synsets (is_a.txt, words.txt); grouping rules in "
        "scripts/make_hierarchies.py (this project)",
        level1)


# ================================================================================================
# wordnet.json
# ================================================================================================
@dataclass
class _Group:
    """A group of a WordNet cut: one synset, or a pool of small sibling synsets ("other X")."""

    members: list[str]  # synsets (categories included) whose categories the group holds
    wnid: str | None  # the synset; None for a pool
    name: str
    pooled_under: str | None = None  # for a pool: the synset whose small hyponyms it holds


class WordNetCut:
    """Cut the WordNet graph into a 3-level tree over the 1k categories.

    The graph is first made a tree: each synset keeps one parent, the deepest one (longest path to
    the root; then the one above more categories; then the smaller wnid), so that e.g. "domestic
    cat" hangs under "cat" (taxonomy) rather than under "domestic animal".

    A level is cut by splitting, largest first, every group that holds more than ``max_size``
    categories into the hyponyms of its synset. Chains of single hyponyms are skipped (a group is
    named after the lowest synset that still holds all its categories), and hyponyms holding fewer
    than ``min_size`` categories are pooled into one "other <synset>" group.

    Args:
        wn: the WordNet graph and the categories.
    """

    def __init__(self, wn: WordNet):
        self.wn = wn
        self._depth: dict[str, int] = {}
        size: dict[str, int] = collections.Counter(a for w in wn.classes for a in wn.ancestors(w))
        self.parent: dict[str, str] = {}
        for w in sorted(size):
            candidates = [p for p in wn.parents.get(w, ()) if p in size]
            if candidates:
                self.parent[w] = sorted(candidates, key=lambda p: (-self.depth(p), -size[p], p))[0]
        self.below: dict[str, list[str]] = collections.defaultdict(list)  # categories under a synset
        for w in wn.classes:
            x: str | None = w
            while x is not None:
                self.below[x].append(w)
                x = self.parent.get(x)
        self.kids: dict[str, list[str]] = collections.defaultdict(list)
        for w in sorted(self.below):
            if w in self.parent:
                self.kids[self.parent[w]].append(w)

    def depth(self, wnid: str) -> int:
        """Length of the longest is_a path from the root to ``wnid``."""
        if wnid not in self._depth:
            self._depth[wnid] = 1 + max((self.depth(p) for p in self.wn.parents.get(wnid, ())), default=-1)
        return self._depth[wnid]

    def lowest(self, wnid: str) -> str:
        """Follow a chain of single hyponyms down to the lowest synset with the same categories."""
        while len(self.kids.get(wnid, ())) == 1:
            wnid = self.kids[wnid][0]
        return wnid

    def categories(self, group: _Group) -> list[str]:
        """Sorted categories of a group."""
        return sorted(c for m in group.members for c in self.below[m])

    def _groups(self, synsets: list[str], min_size: int, pool_name: str, pooled_under: str | None) -> list[_Group]:
        """One group per synset, those with fewer than ``min_size`` categories pooled."""
        big = [w for w in synsets if len(self.below[w]) >= min_size]
        small = [w for w in synsets if len(self.below[w]) < min_size]
        groups = [_Group([w], w, self.wn.name(w)) for w in big]
        if small:
            groups.append(_Group(small, None, pool_name, pooled_under))
        return groups

    def _split(self, group: _Group, min_size: int) -> list[_Group]:
        """The hyponym groups of a synset group."""
        kids = [self.lowest(k) for k in self.kids[group.wnid]]
        return self._groups(kids, min_size, f"other {group.name}", group.wnid)

    def cut(self, groups: list[_Group], max_size: int, min_size: int) -> list[_Group]:
        """Split synset groups, largest first, until none holds more than ``max_size`` categories."""
        groups = list(groups)
        while True:
            splittable = [g for g in groups if g.wnid is not None and self.kids.get(g.wnid)
                          and len(self.categories(g)) > max_size]
            if not splittable:
                return groups
            big = max(splittable, key=lambda g: (len(self.categories(g)), g.wnid))
            i = groups.index(big)
            groups[i:i + 1] = self._split(big, min_size)

    def level1(self, max_size: int, min_size: int) -> list[_Group]:
        """Level-1 groups: the cut of the root."""
        root = self.lowest(ROOT_WNID)
        return self.cut([_Group([root], root, self.wn.name(root))], max_size, min_size)

    def level2(self, group: _Group, max_size: int, min_size: int) -> list[_Group]:
        """Level-2 groups of a level-1 group: always split once, so no level repeats its parent."""
        if group.wnid is not None and self.kids.get(group.wnid):
            start = self._split(group, min_size)
        else:  # a pool: its members, the small ones pooled again
            start = self._groups(group.members, min_size, f"{group.name} (misc)", group.pooled_under)
        return self.cut(start, max_size, min_size)


def build_wordnet(wn: WordNet, data_dir: Path | None = None) -> dict:
    """The mechanical WordNet tree (see :class:`WordNetCut`)."""
    cutter = WordNetCut(wn)
    tree = [(g, cutter.level2(g, WORDNET_L2_MAX, WORDNET_L2_MIN))
            for g in cutter.level1(WORDNET_L1_MAX, WORDNET_L1_MIN)]

    used_names = {leaf_name(wn, w).casefold() for w in wn.classes}  # ids: slugs of these unique names

    def unique_name(group: _Group) -> str:
        name = group.name
        anchor = group.wnid or group.pooled_under
        if name.casefold() in used_names and anchor in cutter.parent:  # e.g. "amphibian (vertebrate)"
            name = f"{name} ({wn.name(cutter.parent[anchor])})"
        base, k = name, 2
        while name.casefold() in used_names:
            name, k = f"{base} {k}", k + 1
        used_names.add(name.casefold())
        return name

    def make(group: _Group, children: list[dict]) -> dict:
        name = unique_name(group)
        if group.wnid is not None:
            synonyms = [x for x in wn.lemmas[group.wnid] if x.casefold() != name.casefold()]
            definition = wn.definitions.get(group.wnid)
        else:
            synonyms = []
            listed = ", ".join(leaf_name(wn, m) if m in wn.class_lemmas else wn.name(m) for m in group.members)
            definition = f"other {wn.name(group.pooled_under)}: {listed}"
        return inner_node(slugify(name), name, group.wnid, synonyms, definition, children)

    level1_nodes = []
    for g1, subs in sorted(tree, key=lambda t: cutter.categories(t[0])[0]):  # in class-index order
        level2_nodes = []
        for g2 in sorted(subs, key=lambda g: cutter.categories(g)[0]):
            level2_nodes.append(make(g2, [leaf_node(wn, c) for c in cutter.categories(g2)]))
        level1_nodes.append(make(g1, level2_nodes))
    return hierarchy_document(
        "wordnet", "WordNet",
        "A mechanical 3-level cut of the WordNet noun hierarchy (synset -> synset -> ImageNet-1k "
        f"category): synsets with more than {WORDNET_L1_MAX} (level 1) / {WORDNET_L2_MAX} (level 2) "
        f"categories are split into their hyponyms, hyponyms with fewer than {WORDNET_L1_MIN} / "
        f"{WORDNET_L2_MIN} categories are pooled into 'other ...' groups; see scripts/make_hierarchies.py.",
        "ImageNet's WordNet is_a.txt and words.txt (WordNet 3.0, Princeton University licence); "
        "definitions from timm's imagenet_synset_to_definition.txt",
        level1_nodes)


# ================================================================================================
# superclass.json
# ================================================================================================
def read_superclasses(data_dir: Path) -> list[tuple[int, str]]:
    """(superclass id, superclass name) of each category, in sorted-wnid order.

    The files end without a final newline, so ``wc -l`` counts 999 lines; they hold 1000 entries.

    Raises:
        RuntimeError: the two files do not hold exactly one entry per category, or one id has two
            names.
    """
    ids = [x.strip() for x in _read_lines(data_dir / "superclass.txt")]
    names = [x.strip() for x in _read_lines(data_dir / "superclass_names.txt")]
    while ids and not ids[-1]:
        ids.pop()
    while names and not names[-1]:
        names.pop()
    if len(ids) != NUM_CLASSES or len(names) != NUM_CLASSES or not all(ids) or not all(names):
        raise RuntimeError(f"superclass files hold {len(ids)} ids and {len(names)} names, expected "
                           f"{NUM_CLASSES} of each (one per ImageNet-1k category)")
    name_of: dict[int, str] = {}
    for i, n in zip(ids, names):
        if name_of.setdefault(int(i), n) != n:
            raise RuntimeError(f"superclass {i} has two names: {name_of[int(i)]!r} and {n!r}")
    return [(int(i), n) for i, n in zip(ids, names)]


def build_superclass(wn: WordNet, data_dir: Path) -> dict:
    """The superclass -> category tree of ``superclass.txt`` / ``superclass_names.txt``."""
    entries = read_superclasses(data_dir)
    members: dict[int, list[str]] = collections.defaultdict(list)
    label: dict[int, str] = {}
    for w, (sid, name) in zip(wn.classes, entries):
        members[sid].append(w)
        label[sid] = name
    # The synset of a superclass: the ancestor of its categories whose words.txt entry is its name.
    synset: dict[int, str | None] = {}
    for sid, cats in members.items():
        common = set.intersection(*({a for a in wn.ancestors(c) if ", ".join(wn.lemmas[a]) == label[sid]}
                                    for c in cats))
        synset[sid] = min(common, key=lambda a: max(wn.ancestors(c)[a] for c in cats)) if common else None
    # Names: first lemma; "cap" (3 synsets), "brass" (also a category) etc. get their WordNet parent.
    first = {sid: label[sid].split(", ")[0] for sid in members}
    counts = collections.Counter(n.casefold() for n in first.values())
    leaf_names = {leaf_name(wn, w).casefold() for w in wn.classes}
    level1, used = [], set(leaf_names)
    for sid in sorted(members, key=lambda k: (min(members[k]), k)):
        name, wnid = first[sid], synset[sid]
        if counts[name.casefold()] > 1 or name.casefold() in leaf_names:
            parent = wn.parents.get(wnid, [None])[0] if wnid else None
            name = f"{name} ({wn.name(parent)})" if parent else f"{name} ({sid})"
        if name.casefold() in used:  # two synsets "table" under "furniture"
            name = f"{name[:-1]}, {wnid})" if name.endswith(")") else f"{name} ({wnid or sid})"
        used.add(name.casefold())
        synonyms = [x for x in label[sid].split(", ")[1:] if x.casefold() != name.casefold()]
        leaves = [leaf_node(wn, w) for w in sorted(members[sid])]
        level1.append(inner_node(f"sc{sid:03d}_{slugify(name)}", name, wnid, synonyms,
                                 wn.definitions.get(wnid) if wnid else None, leaves))
    return hierarchy_document(
        "superclass", "ImageNet superclasses",
        f"The {len(level1)} ImageNet superclasses of S. Kumano (each the WordNet parent synset shared "
        "by a set of ImageNet-1k categories), used for the first nested variant of the NHL paper: "
        "superclass -> category.",
        SUPERCLASS_SOURCE, level1)


# ================================================================================================
# main
# ================================================================================================
BUILDERS = {"curated": build_curated, "superclass": build_superclass, "wordnet": build_wordnet}


def write_json(doc: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def summarize(h: Hierarchy) -> str:
    """One line per level: number of nodes and min/max categories per node."""
    lines = [f"{h.id}: depth {h.depth}, {len(h.categories)} categories"]
    for level in range(1, h.depth):
        nodes = h.level(level)
        sizes = [len(n.categories) for n in nodes]
        kids = [len(n.children) for n in nodes]
        lines.append(f"  level {level}: {len(nodes)} nodes, categories per node {min(sizes)}-{max(sizes)} "
                     f"(median {sorted(sizes)[len(sizes) // 2]}), children per node {min(kids)}-{max(kids)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="folder with is_a.txt, words.txt, superclass*.txt")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="output folder (default: hierarchies/)")
    parser.add_argument("--only", nargs="+", choices=sorted(BUILDERS), help="build only these trees")
    args = parser.parse_args(argv)
    wn = load_wordnet(args.data)
    for hid in args.only or sorted(BUILDERS):
        doc = BUILDERS[hid](wn, args.data)
        h = Hierarchy(doc)  # validates: ids/names unique, no empty node, one depth
        if sorted(h.categories) != wn.classes:
            raise RuntimeError(f"{hid}: the categories are not exactly the 1000 ImageNet-1k wnids")
        path = args.out / f"{hid}.json"
        write_json(doc, path)
        print(summarize(h))
        print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
