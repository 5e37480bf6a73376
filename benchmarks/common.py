"""What every benchmark script sets up first: offline Hugging Face libraries, quiet progress bars,
and where the checkout and ``../shared`` (real data, the e5 model) are. Import it before anything
that imports transformers or datasets."""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
