"""Names under which per-backbone task defaults (``defaults["by_model"]``) are looked up."""

#: mBERT by its registered name and its hub id: XTREME-R's scripts give it other settings than XLM-R.
MBERT = ("bert-base-multilingual-cased", "google-bert/bert-base-multilingual-cased")
