Matur nuwun.
Sugeng enjing.
Aku tresna karo kowe.
Sugeng tindak.
