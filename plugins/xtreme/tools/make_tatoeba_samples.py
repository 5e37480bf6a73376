"""Write the bundled Tatoeba smoke samples (ours, in LASER's ``tatoeba.<xxx>-eng.{xxx,eng}`` format).

Four everyday phrases per language, aligned line by line with English.
Run from this folder: ``python tools/make_tatoeba_samples.py``.
"""

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples" / "tatoeba" / "v1"
ENGLISH = ["Thank you.", "Good morning.", "I love you.", "Goodbye."]
PHRASES = {
    "afr": ["Dankie.", "Goeie môre.", "Ek het jou lief.", "Totsiens."],
    "ara": ["شكرا.", "صباح الخير.", "أحبك.", "مع السلامة."],
    "ben": ["ধন্যবাদ।", "সুপ্রভাত।", "আমি তোমাকে ভালোবাসি।", "বিদায়।"],
    "bul": ["Благодаря.", "Добро утро.", "Обичам те.", "Довиждане."],
    "cmn": ["谢谢。", "早上好。", "我爱你。", "再见。"],
    "deu": ["Danke.", "Guten Morgen.", "Ich liebe dich.", "Auf Wiedersehen."],
    "ell": ["Ευχαριστώ.", "Καλημέρα.", "Σ' αγαπώ.", "Αντίο."],
    "est": ["Aitäh.", "Tere hommikust.", "Ma armastan sind.", "Head aega."],
    "eus": ["Eskerrik asko.", "Egun on.", "Maite zaitut.", "Agur."],
    "fin": ["Kiitos.", "Hyvää huomenta.", "Minä rakastan sinua.", "Näkemiin."],
    "fra": ["Merci.", "Bonjour.", "Je t'aime.", "Au revoir."],
    "heb": ["תודה.", "בוקר טוב.", "אני אוהב אותך.", "להתראות."],
    "hin": ["धन्यवाद।", "सुप्रभात।", "मैं तुमसे प्यार करता हूँ।", "अलविदा।"],
    "hun": ["Köszönöm.", "Jó reggelt.", "Szeretlek.", "Viszontlátásra."],
    "ind": ["Terima kasih.", "Selamat pagi.", "Aku cinta kamu.", "Selamat tinggal."],
    "ita": ["Grazie.", "Buongiorno.", "Ti amo.", "Arrivederci."],
    "jav": ["Matur nuwun.", "Sugeng enjing.", "Aku tresna karo kowe.", "Sugeng tindak."],
    "jpn": ["ありがとう。", "おはようございます。", "愛してる。", "さようなら。"],
    "kat": ["გმადლობთ.", "დილა მშვიდობისა.", "მიყვარხარ.", "ნახვამდის."],
    "kaz": ["Рақмет.", "Қайырлы таң.", "Мен сені жақсы көремін.", "Сау болыңыз."],
    "kor": ["감사합니다.", "좋은 아침입니다.", "사랑해요.", "안녕히 가세요."],
    "mal": ["നന്ദി.", "സുപ്രഭാതം.", "ഞാൻ നിന്നെ സ്നേഹിക്കുന്നു.", "വിട."],
    "mar": ["धन्यवाद.", "सुप्रभात.", "मी तुझ्यावर प्रेम करतो.", "निरोप."],
    "nld": ["Dank je.", "Goedemorgen.", "Ik hou van jou.", "Tot ziens."],
    "pes": ["متشکرم.", "صبح بخیر.", "دوستت دارم.", "خداحافظ."],
    "por": ["Obrigado.", "Bom dia.", "Eu te amo.", "Adeus."],
    "rus": ["Спасибо.", "Доброе утро.", "Я тебя люблю.", "До свидания."],
    "spa": ["Gracias.", "Buenos días.", "Te quiero.", "Adiós."],
    "swh": ["Asante.", "Habari za asubuhi.", "Nakupenda.", "Kwaheri."],
    "tam": ["நன்றி.", "காலை வணக்கம்.", "நான் உன்னை காதலிக்கிறேன்.", "பிரியாவிடை."],
    "tel": ["ధన్యవాదాలు.", "శుభోదయం.", "నేను నిన్ను ప్రేమిస్తున్నాను.", "వీడ్కోలు."],
    "tgl": ["Salamat.", "Magandang umaga.", "Mahal kita.", "Paalam."],
    "tha": ["ขอบคุณ", "สวัสดีตอนเช้า", "ฉันรักคุณ", "ลาก่อน"],
    "tur": ["Teşekkürler.", "Günaydın.", "Seni seviyorum.", "Hoşça kal."],
    "urd": ["شکریہ۔", "صبح بخیر۔", "میں تم سے پیار کرتا ہوں۔", "خدا حافظ۔"],
    "vie": ["Cảm ơn.", "Chào buổi sáng.", "Anh yêu em.", "Tạm biệt."],
    # XTREME-R's additions
    "aze": ["Təşəkkür edirəm.", "Sabahınız xeyir.", "Mən səni sevirəm.", "Sağ olun."],
    "lit": ["Ačiū.", "Labas rytas.", "Aš tave myliu.", "Viso gero."],
    "pol": ["Dziękuję.", "Dzień dobry.", "Kocham cię.", "Do widzenia."],
    "ukr": ["Дякую.", "Доброго ранку.", "Я тебе кохаю.", "До побачення."],
    "ron": ["Mulțumesc.", "Bună dimineața.", "Te iubesc.", "La revedere."],
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for code, phrases in PHRASES.items():
        (OUT / f"tatoeba.{code}-eng.{code}").write_text("\n".join(phrases) + "\n", encoding="utf-8")
        (OUT / f"tatoeba.{code}-eng.eng").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
