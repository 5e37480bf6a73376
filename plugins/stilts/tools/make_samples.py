"""Write the bundled HellaSwag smoke samples (ours, in HellaSwag's jsonl format).

Each context describes an activity; the right ending continues that activity and the three
distractors are endings of other activities. Run from this folder:
``python tools/make_samples.py``.
"""

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_stilts" / "samples" / "hellaswag"

ACTIVITIES = {
    "Baking cookies": (
        ["A woman mixes flour and sugar in a bowl.", "A boy cracks two eggs into the dough."],
        ["the woman", "he", "she"],
        ["puts the tray of cookies into the oven.", "rolls the dough into small balls.", "sprinkles sugar over the cookies."],
    ),
    "Washing a car": (
        ["A man sprays the car with a hose.", "A girl fills a bucket with soapy water."],
        ["the man", "she", "then"],
        ["scrubs the doors of the car with a sponge.", "rinses the soap off the windshield.", "dries the hood with a towel."],
    ),
    "Playing guitar": (
        ["A man sits on a stool holding a guitar.", "A girl tunes the strings of her guitar."],
        ["he", "she", "the man"],
        ["strums a few chords and sings along.", "plays a fast melody on the strings.", "changes the capo and keeps playing."],
    ),
    "Mowing the lawn": (
        ["A man pushes a lawn mower across the yard.", "A woman starts the mower in the garden."],
        ["he", "she", "the woman"],
        ["cuts the grass in straight rows.", "empties the grass bag into a bin.", "turns the mower around at the fence."],
    ),
    "Swimming": (
        ["A boy dives into the pool.", "A woman swims along the lane of the pool."],
        ["he", "she", "the boy"],
        ["swims to the other end of the pool.", "turns at the wall and swims back.", "climbs out of the water onto the deck."],
    ),
    "Painting a wall": (
        ["A man dips a roller into a tray of paint.", "A woman tapes the edges of the wall."],
        ["he", "she", "then"],
        ["rolls blue paint evenly across the wall.", "paints the corners with a small brush.", "adds a second coat of paint to the wall."],
    ),
}

SIZES = {"train": 64, "val": 32}


def main() -> None:
    rng = random.Random(2020)
    names = list(ACTIVITIES)
    ind = 0
    for split, size in SIZES.items():
        rows = []
        for _ in range(size):
            activity = rng.choice(names)
            contexts, subjects, endings = ACTIVITIES[activity]
            others = [n for n in names if n != activity]
            distractors = [rng.choice(ACTIVITIES[o][2]) for o in rng.sample(others, 3)]
            label = rng.randrange(4)
            choices = distractors[:label] + [rng.choice(endings)] + distractors[label:]
            ctx_a, ctx_b = rng.choice(contexts), rng.choice(subjects)
            rows.append({
                "ind": ind, "activity_label": activity, "ctx_a": ctx_a, "ctx_b": ctx_b,
                "ctx": f"{ctx_a} {ctx_b}", "split": split, "split_type": "indomain",
                "label": label, "endings": choices, "source_id": f"xharness-sample~{ind}",
            })
            ind += 1
        OUT.mkdir(parents=True, exist_ok=True)
        with open(OUT / f"hellaswag_{split}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
