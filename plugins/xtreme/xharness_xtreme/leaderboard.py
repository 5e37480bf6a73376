"""XTREME's submission format (Hu et al., 2020): its nine tasks, languages, metrics and groups.

Task order and language lists follow XTREME's ``evaluate.py``, so ``xharness score --json``
lines up with the file that script writes.
"""

from harness.spec import Leaderboard, LeaderboardTask


def _langs(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


XTREME = Leaderboard(
    name="xtreme",
    description="XTREME (Hu et al., 2020): 9 tasks in 40 languages",
    groups=("classification", "tagging", "qa", "retrieval"),
    tasks=(
        LeaderboardTask("pawsx", "accuracy", _langs("de,en,es,fr,ja,ko,zh"), "classification", "tsv"),
        LeaderboardTask("xnli", "accuracy", _langs("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh"),
                        "classification", "tsv"),
        LeaderboardTask("panx", "seqeval", _langs(
            "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,"
            "zh,kk,tr,et,fi,hu"), "tagging", "tsv"),
        LeaderboardTask("udpos", "seqeval", _langs(
            "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh"),
            "tagging", "tsv"),
        LeaderboardTask("bucc2018", "pair_f1", _langs("de,fr,ru,zh"), "retrieval", "tsv"),
        LeaderboardTask("tatoeba", "accuracy", _langs(
            "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,"
            "fi,hu"), "retrieval", "tsv"),
        LeaderboardTask("xquad", "squad", _langs("en,es,de,el,ru,tr,ar,vi,th,zh,hi"), "qa", "json"),
        LeaderboardTask("mlqa", "mlqa", _langs("en,es,de,ar,hi,vi,zh"), "qa", "json"),
        LeaderboardTask("tydiqa", "squad", _langs("en,ar,bn,fi,id,ko,ru,sw,te"), "qa", "json"),
    ),
)
