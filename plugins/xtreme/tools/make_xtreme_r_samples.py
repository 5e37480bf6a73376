"""Write the bundled XTREME-R smoke samples: XCOPA (+ COPA), Social IQa, LAReQA (+ SQuAD), Mewsli-X.

Every text is ours, made from small templates (nothing is copied from the datasets), in the
original file formats and layout the readers expect:

* ``xcopa/COPA/{train,val}.jsonl`` and ``xcopa/data/<lang>/{val,test}.<lang>.jsonl``: one premise
  and two alternatives, the right one a plausible cause or effect (Quechua is English text
  tagged ``[qu]``: we do not write Quechua);
* ``siqa/socialIQa_v1.4_{trn,dev}.jsonl``: a social situation, a question, three answers;
* ``lareqa/squad/{train,dev}-v1.1.json`` (SQuAD v1.1) and ``lareqa/xquad-r/<lang>.json``: the
  same three paragraphs in 11 languages (question ids shared), with ``sentences`` and
  ``sentence_breaks``;
* ``mewslix/wikipedia_pairs-{train,dev}.jsonl``, ``wikinews_mentions-test.jsonl`` (every
  language) and ``candidate_set_entities.jsonl`` (made-up entities with made-up QIDs).

Deterministic (fixed seeds). Run from anywhere: ``python plugins/xtreme/tools/make_xtreme_r_samples.py``.
"""

import hashlib
import json
import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples"
NAMES = ["Ana", "Juma", "Mei", "Kemal", "Liis", "Rosa", "Tuan", "Arun", "Omar", "Sara"]

# -- XCOPA ------------------------------------------------------------------------------------
# Four scenarios: (premise, question, right alternative, wrong alternative) per language.
COPA = {
    "en": [("{a} was hungry.", "effect", "{a} ate some bread.", "{a} washed the car."),
           ("{a} was wet.", "cause", "{a} walked in the rain.", "{a} read a book."),
           ("{a} laughed.", "cause", "{a} heard a joke.", "{a} lost the keys."),
           ("{a} was tired.", "effect", "{a} went to bed.", "{a} ran a race.")],
    "et": [("{a} oli näljane.", "effect", "{a} sõi natuke leiba.", "{a} pesi autot."),
           ("{a} oli märg.", "cause", "{a} kõndis vihma käes.", "{a} luges raamatut."),
           ("{a} naeris.", "cause", "{a} kuulis nalja.", "{a} kaotas võtmed."),
           ("{a} oli väsinud.", "effect", "{a} läks magama.", "{a} jooksis võistlusel.")],
    "ht": [("{a} te grangou.", "effect", "{a} te manje pen.", "{a} te lave machin nan."),
           ("{a} te mouye.", "cause", "{a} te mache anba lapli.", "{a} te li yon liv."),
           ("{a} te ri.", "cause", "{a} te tande yon blag.", "{a} te pèdi kle yo."),
           ("{a} te fatige.", "effect", "{a} te al dòmi.", "{a} te kouri yon kous.")],
    "id": [("{a} lapar.", "effect", "{a} makan roti.", "{a} mencuci mobil."),
           ("{a} basah.", "cause", "{a} berjalan di tengah hujan.", "{a} membaca buku."),
           ("{a} tertawa.", "cause", "{a} mendengar lelucon.", "{a} kehilangan kunci."),
           ("{a} lelah.", "effect", "{a} pergi tidur.", "{a} berlari dalam lomba.")],
    "it": [("{a} aveva fame.", "effect", "{a} ha mangiato del pane.", "{a} ha lavato la macchina."),
           ("{a} era bagnato.", "cause", "{a} ha camminato sotto la pioggia.", "{a} ha letto un libro."),
           ("{a} ha riso.", "cause", "{a} ha sentito una barzelletta.", "{a} ha perso le chiavi."),
           ("{a} era stanco.", "effect", "{a} è andato a letto.", "{a} ha corso una gara.")],
    "sw": [("{a} alikuwa na njaa.", "effect", "{a} alikula mkate.", "{a} aliosha gari."),
           ("{a} alikuwa amelowa.", "cause", "{a} alitembea kwenye mvua.", "{a} alisoma kitabu."),
           ("{a} alicheka.", "cause", "{a} alisikia mzaha.", "{a} alipoteza funguo."),
           ("{a} alikuwa amechoka.", "effect", "{a} alienda kulala.", "{a} alikimbia mbio.")],
    "ta": [("{a} பசியாக இருந்தார்.", "effect", "{a} ரொட்டி சாப்பிட்டார்.", "{a} காரைக் கழுவினார்."),
           ("{a} நனைந்திருந்தார்.", "cause", "{a} மழையில் நடந்தார்.", "{a} ஒரு புத்தகம் படித்தார்."),
           ("{a} சிரித்தார்.", "cause", "{a} ஒரு நகைச்சுவையைக் கேட்டார்.", "{a} சாவிகளைத் தொலைத்தார்."),
           ("{a} சோர்வாக இருந்தார்.", "effect", "{a} தூங்கச் சென்றார்.", "{a} ஓட்டப்பந்தயத்தில் ஓடினார்.")],
    "th": [("{a} หิว", "effect", "{a} กินขนมปัง", "{a} ล้างรถ"),
           ("{a} เปียก", "cause", "{a} เดินตากฝน", "{a} อ่านหนังสือ"),
           ("{a} หัวเราะ", "cause", "{a} ได้ยินเรื่องตลก", "{a} ทำกุญแจหาย"),
           ("{a} เหนื่อย", "effect", "{a} เข้านอน", "{a} วิ่งแข่ง")],
    "tr": [("{a} acıkmıştı.", "effect", "{a} biraz ekmek yedi.", "{a} arabayı yıkadı."),
           ("{a} ıslanmıştı.", "cause", "{a} yağmurda yürüdü.", "{a} bir kitap okudu."),
           ("{a} güldü.", "cause", "{a} bir fıkra duydu.", "{a} anahtarlarını kaybetti."),
           ("{a} yorgundu.", "effect", "{a} yatmaya gitti.", "{a} bir yarışta koştu.")],
    "vi": [("{a} đói bụng.", "effect", "{a} ăn một ít bánh mì.", "{a} rửa xe."),
           ("{a} bị ướt.", "cause", "{a} đi bộ dưới mưa.", "{a} đọc một cuốn sách."),
           ("{a} bật cười.", "cause", "{a} nghe một câu chuyện cười.", "{a} làm mất chìa khóa."),
           ("{a} mệt mỏi.", "effect", "{a} đi ngủ.", "{a} chạy một cuộc đua.")],
    "zh": [("{a}饿了。", "effect", "{a}吃了一些面包。", "{a}洗了车。"),
           ("{a}全身湿了。", "cause", "{a}在雨中走路。", "{a}读了一本书。"),
           ("{a}笑了。", "cause", "{a}听到了一个笑话。", "{a}丢了钥匙。"),
           ("{a}累了。", "effect", "{a}上床睡觉了。", "{a}参加了赛跑。")],
}
COPA["qu"] = [tuple(f"[qu] {t}" if t not in ("cause", "effect") else t for t in item) for item in COPA["en"]]
XCOPA_LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")


def copa_records(lang: str, count: int, rng: random.Random, xcopa: bool) -> list[dict]:
    records = []
    for idx in range(count):
        premise, question, right, wrong = rng.choice(COPA[lang])
        name = rng.choice(NAMES)
        label = rng.randrange(2)
        choices = [right, wrong] if label == 0 else [wrong, right]
        record = {"premise": premise.format(a=name), "choice1": choices[0].format(a=name),
                  "choice2": choices[1].format(a=name), "question": question, "label": label, "idx": idx}
        if xcopa:
            record["changed"] = False
        records.append(record)
    return records


# -- Social IQa -------------------------------------------------------------------------------
SIQA = [
    ("{a} gave {b} a present for the birthday.", "How would {b} feel as a result?",
     "grateful", ["angry at {a}", "bored"]),
    ("{a} forgot to call {b} back.", "What will {b} want to do next?",
     "call {a} again", ["buy a new car", "go swimming"]),
    ("{a} studied all night for the exam.", "Why did {a} do this?",
     "to pass the exam", ["to sleep well", "to miss the exam"]),
    ("{a} helped {b} carry the heavy boxes.", "How would you describe {a}?",
     "helpful", ["lazy", "rude"]),
    ("{a} spilled coffee on {b}'s laptop.", "What does {a} need to do next?",
     "apologise to {b}", ["take a nap", "paint the house"]),
]


def siqa_records(count: int, rng: random.Random) -> list[dict]:
    records = []
    for _ in range(count):
        context, question, right, wrong = rng.choice(SIQA)
        a, b = rng.sample(NAMES, 2)
        answers = [right] + list(wrong)
        correct = rng.randrange(3)
        answers[0], answers[correct] = answers[correct], answers[0]
        record = {"context": context.format(a=a, b=b), "question": question.format(a=a, b=b)}
        record.update({f"answer{letter}": text.format(a=a, b=b) for letter, text in zip("ABC", answers)})
        record["correct"] = "ABC"[correct]
        records.append(record)
    return records


# -- LAReQA -----------------------------------------------------------------------------------
# language: (statement, where-question, who-question, sentence separator)
LAREQA = {
    "en": ("{a} lives in {c}.", "Where does {a} live?", "Who lives in {c}?", " "),
    "es": ("{a} vive en {c}.", "¿Dónde vive {a}?", "¿Quién vive en {c}?", " "),
    "de": ("{a} wohnt in {c}.", "Wo wohnt {a}?", "Wer wohnt in {c}?", " "),
    "el": ("{a} μένει στην πόλη {c}.", "Σε ποια πόλη μένει {a};", "Ποιος μένει στην πόλη {c};", " "),
    "ru": ("{a} живёт в {c}.", "Где живёт {a}?", "Кто живёт в {c}?", " "),
    "tr": ("{a} {c} şehrinde yaşıyor.", "{a} nerede yaşıyor?", "{c} şehrinde kim yaşıyor?", " "),
    "ar": ("يعيش {a} في {c}.", "أين يعيش {a}؟", "من يعيش في {c}؟", " "),
    "vi": ("{a} sống ở {c}.", "{a} sống ở đâu?", "Ai sống ở {c}?", " "),
    "th": ("{a} อาศัยอยู่ที่ {c}", "{a} อาศัยอยู่ที่ไหน", "ใครอาศัยอยู่ที่ {c}", " "),
    "zh": ("{a}住在{c}。", "{a}住在哪里？", "谁住在{c}？", ""),
    "hi": ("{a} {c} में रहता है।", "{a} कहाँ रहता है?", "{c} में कौन रहता है?", " "),
}
LAREQA_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
CITIES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin", "Nairobi", "Hanoi", "Delhi", "Quito", "Oslo"]
JOBS = [("a teacher", "teacher"), ("a baker", "baker"), ("a nurse", "nurse"), ("a pilot", "pilot")]


def _qid(*parts) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()[:24]


def squad_articles(count: int, rng: random.Random, tag: str) -> dict:
    """English SQuAD v1.1: three sentences a paragraph, three questions, one answer in each sentence."""
    articles = []
    for n in range(count):
        a, b = rng.sample(NAMES, 2)
        c, d = rng.sample(CITIES, 2)
        job, answer_job = rng.choice(JOBS)
        sentences = [f"{a} lives in {c}.", f"{a} works as {job} there.", f"{b}, a friend of {a}, lives in {d}."]
        context = " ".join(sentences)
        starts = [context.index(s) for s in sentences]
        qas = [(f"Where does {a} live?", c, starts[0] + sentences[0].index(c)),
               (f"What is the job of {a}?", answer_job, starts[1] + sentences[1].index(answer_job)),
               (f"Where does the friend of {a} live?", d, starts[2] + sentences[2].index(d))]
        articles.append({"title": f"sample {tag} {n + 1}", "paragraphs": [{"context": context, "qas": [
            {"id": _qid("squad", tag, n, i), "question": q, "answers": [{"text": t, "answer_start": s}]}
            for i, (q, t, s) in enumerate(qas)]}]})
    return {"version": "1.1", "data": articles}


def xquad_r(paragraphs: list[tuple[list[str], list[str]]]) -> dict:
    """XQuAD-R in every language: three sentences a paragraph (one person each), five questions."""
    out = {}
    for lang in LAREQA_LANGUAGES:
        statement, where, who, separator = LAREQA[lang]
        data = []
        for p, (names, cities) in enumerate(paragraphs):
            sentences = [statement.format(a=a, c=c) for a, c in zip(names, cities)]
            context = separator.join(sentences)
            breaks, at = [], 0
            for sentence in sentences:
                breaks.append([at, at + len(sentence)])
                at += len(sentence) + len(separator)
            qas = []
            for s, (a, c) in enumerate(zip(names, cities)):
                base = breaks[s][0]
                qas.append({"answers": [{"answer_start": base + sentences[s].index(c), "text": c}],
                            "id": _qid("xquad-r", p, s, "where"), "question": where.format(a=a)})
                if s < 2:  # five questions a paragraph
                    qas.append({"answers": [{"answer_start": base + sentences[s].index(a), "text": a}],
                                "id": _qid("xquad-r", p, s, "who"), "question": who.format(c=c)})
            data.append({"paragraphs": [{"context": context, "qas": qas, "sentence_breaks": breaks,
                                         "sentences": sentences}]})
        out[lang] = {"data": data}
    return out


# -- Mewsli-X ---------------------------------------------------------------------------------
# Made-up cities and people with made-up QIDs; descriptions in English.
PLACES = ["Aldmere", "Brisvale", "Corlund", "Dunhollow", "Elmstead", "Farrowby", "Glenmarsh", "Harwick",
          "Islebrook", "Jorvale", "Kestrelton", "Larkmoor", "Marlowe Bay", "Northfen", "Oakhurst"]
REGIONS = ["the northern hills", "a wide river valley", "the eastern coast", "a dry plateau", "the southern lakes"]
KNOWN_FOR = ["its old stone bridge", "a yearly music festival", "its fishing harbour", "a large university",
             "its salt mines", "a famous clock tower"]
PEOPLE = ["Ilse Varnholt", "Tomas Quellin", "Amara Dosu", "Renzo Albi", "Keiko Marsh", "Pavel Ostrin",
          "Nadia Ferrow", "Jonah Teller", "Lucia Brand", "Emil Sadeq", "Hana Lorre", "Victor Pell",
          "Zara Quint", "Oskar Lind", "Mira Solen"]
ROLES = ["painter", "chemist", "football player", "poet", "architect", "violinist", "mountaineer", "journalist"]

# WikiNews templates: (a sentence before, a sentence holding the mention {m}).
NEWS = {
    "en": ("Reporters gathered on Monday.", "The meeting took place in {m}."),
    "de": ("Die Reporter trafen sich am Montag.", "Das Treffen fand in {m} statt."),
    "es": ("Los periodistas se reunieron el lunes.", "La reunión tuvo lugar en {m}."),
    "tr": ("Gazeteciler pazartesi günü toplandı.", "Toplantı {m} şehrinde yapıldı."),
    "pl": ("Dziennikarze zebrali się w poniedziałek.", "Spotkanie odbyło się w mieście {m}."),
    "ro": ("Jurnaliștii s-au adunat luni.", "Întâlnirea a avut loc în orașul {m}."),
    "uk": ("Журналісти зібралися в понеділок.", "Зустріч відбулася в місті {m}."),
    "ar": ("اجتمع الصحفيون يوم الاثنين.", "عُقد الاجتماع في {m}."),
    "fa": ("خبرنگاران روز دوشنبه جمع شدند.", "این نشست در {m} برگزار شد."),
    "ja": ("記者たちは月曜日に集まった。", "会議は{m}で開かれた。"),
    "ta": ("செய்தியாளர்கள் திங்கள்கிழமை கூடினர்.", "கூட்டம் {m} நகரில் நடந்தது."),
}
MEWSLIX_LANGUAGES = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")


def entities(rng: random.Random) -> list[dict]:
    out = []
    for i, place in enumerate(PLACES):
        sentences = [f"{place} is a town in {rng.choice(REGIONS)}.", f"It is known for {rng.choice(KNOWN_FOR)}."]
        out.append((f"Q9{1000 + i}", place, sentences))
    for i, person in enumerate(PEOPLE):
        role = rng.choice(ROLES)
        sentences = [f"{person} is a {role}.", f"{person.split()[0]} was born in {rng.choice(PLACES)}.",
                     f"The work of {person.split()[1]} won several prizes."]
        out.append((f"Q9{2000 + i}", person, sentences))
    records = []
    for qid, title, sentences in out:
        description, spans, at = " ".join(sentences), [], 0
        for sentence in sentences:
            spans.append({"start": at, "end": at + len(sentence)})
            at += len(sentence) + 1
        records.append({"entity_id": qid, "title": title, "description": description, "description_language": "en",
                        "description_url": f"https://en.example.org/wiki/{title.replace(' ', '_')}",
                        "sentence_spans": spans})
    return records


def _context(sentences: list[str], **fields) -> tuple[dict, list[int]]:
    text, spans, starts, at = " ".join(sentences), [], [], 0
    for sentence in sentences:
        spans.append({"start": at, "end": at + len(sentence)})
        starts.append(at)
        at += len(sentence) + 1
    return {**fields, "text": text, "sentence_spans": spans}, starts


WIKI_TEMPLATES = {
    "place": [("The river flows past {m} before it reaches the sea.", "Geography"),
              ("In 1890 a railway line was opened to {m}.", "History"),
              ("Many tourists visit {m} every summer.", "Tourism")],
    "person": [("The exhibition showed early works by {m}.", "Career"),
               ("{m} moved abroad after finishing school.", "Early life"),
               ("A biography of {m} appeared last year.", "Legacy")],
}


def wikipedia_pairs(ents: list[dict], count: int, rng: random.Random, tag: str) -> list[dict]:
    records = []
    for n in range(count):
        entity = rng.choice(ents)
        kind = "place" if entity["entity_id"].startswith("Q91") else "person"
        template, section = rng.choice(WIKI_TEMPLATES[kind])
        lead = rng.choice(["This article is about a subject in the sample.", "It has several sections."])
        holding = template.format(m=entity["title"])
        context, starts = _context([lead, holding], document_title=f"Sample page {tag} {n + 1}",
                                   document_url=f"https://en.example.org/wiki/Sample_{tag}_{n + 1}",
                                   document_id=f"en-{tag}-{n + 1}", language="en", section_title=section)
        start = starts[1] + holding.index(entity["title"])
        mention = {"example_id": _qid("wikipedia", tag, n), "entity_id": entity["entity_id"],
                   "mention_span": {"start": start, "end": start + len(entity["title"]), "text": entity["title"]}}
        records.append({"contextual_mention": {"context": context, "mention": mention}, "entity": entity})
    return records


def wikinews_mentions(ents: list[dict], rng: random.Random) -> list[dict]:
    """Five mentions of places a language: one article with two, three with one."""
    places = [e for e in ents if e["entity_id"].startswith("Q91")]
    records = []
    for lang in MEWSLIX_LANGUAGES:
        before, holding = NEWS[lang]
        chosen = rng.sample(places, 5)
        for article, group in enumerate([chosen[:2], chosen[2:3], chosen[3:4], chosen[4:]]):
            sentences = [before] + [holding.format(m=e["title"]) for e in group]
            context, starts = _context(sentences, document_title=f"Sample news {lang} {article + 1}",
                                       document_url=f"https://{lang}.example.org/news/{article + 1}",
                                       document_id=f"{lang}-{article + 1}", language=lang)
            mentions = []
            for k, entity in enumerate(group):
                start = starts[k + 1] + sentences[k + 1].index(entity["title"])
                mentions.append({"example_id": _qid("wikinews", lang, article, k), "entity_id": entity["entity_id"],
                                 "mention_span": {"start": start, "end": start + len(entity["title"]),
                                                  "text": entity["title"]}})
            records.append({"context": context, "mentions": mentions})
    return records


# -- writing ------------------------------------------------------------------------------------
def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main() -> None:
    rng = random.Random(2021)
    xcopa = SAMPLES / "xcopa"
    write_jsonl(xcopa / "COPA" / "train.jsonl", copa_records("en", 40, rng, xcopa=False))
    write_jsonl(xcopa / "COPA" / "val.jsonl", copa_records("en", 10, rng, xcopa=False))
    for lang in XCOPA_LANGUAGES:
        write_jsonl(xcopa / "data" / lang / f"val.{lang}.jsonl", copa_records(lang, 10, rng, xcopa=True))
        write_jsonl(xcopa / "data" / lang / f"test.{lang}.jsonl", copa_records(lang, 10, rng, xcopa=True))

    siqa = SAMPLES / "siqa"
    write_jsonl(siqa / "socialIQa_v1.4_trn.jsonl", siqa_records(40, rng))
    write_jsonl(siqa / "socialIQa_v1.4_dev.jsonl", siqa_records(10, rng))

    lareqa = SAMPLES / "lareqa"
    write_json(lareqa / "squad" / "train-v1.1.json", squad_articles(14, rng, "train"))
    write_json(lareqa / "squad" / "dev-v1.1.json", squad_articles(4, rng, "dev"))
    people = rng.sample(NAMES, 9)
    cities = rng.sample(CITIES, 9)
    paragraphs = [(people[3 * p:3 * p + 3], cities[3 * p:3 * p + 3]) for p in range(3)]
    for lang, data in xquad_r(paragraphs).items():
        write_json(lareqa / "xquad-r" / f"{lang}.json", data)

    mewslix = SAMPLES / "mewslix"
    ents = entities(rng)
    write_jsonl(mewslix / "candidate_set_entities.jsonl", ents)
    write_jsonl(mewslix / "wikipedia_pairs-train.jsonl", wikipedia_pairs(ents, 40, rng, "train"))
    write_jsonl(mewslix / "wikipedia_pairs-dev.jsonl", wikipedia_pairs(ents, 10, rng, "dev"))
    write_jsonl(mewslix / "wikinews_mentions-test.jsonl", wikinews_mentions(ents, rng))


if __name__ == "__main__":
    main()
