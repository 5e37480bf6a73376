ru-s00001	Omar работает в Delhi.
ru-s00002	В прошлом году Omar ездил в Lima.
ru-s00003	В прошлом году Lena ездил в Cairo.
ru-s00004	Omar живёт в Cairo.
ru-s00005	В прошлом году Ivan ездил в Lima.
ru-s00006	В прошлом году Anna ездил в Delhi.
ru-s00007	Omar работает в Lima.
ru-s00008	Sami живёт в Lima.
ru-s00009	Sami работает в Nairobi.
ru-s00010	Maria живёт в Lima.
ru-s00011	Lena работает в Lima.
ru-s00012	В прошлом году Ivan ездил в Delhi.
ru-s00013	В прошлом году David ездил в Delhi.
ru-s00014	В прошлом году David ездил в Cairo.
ru-s00015	В прошлом году Anna ездил в Hanoi.
