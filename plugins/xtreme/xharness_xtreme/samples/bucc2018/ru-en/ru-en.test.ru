ru-t00001	В прошлом году Omar ездил в Paris.
ru-t00002	David работает в Lima.
ru-t00003	Maria живёт в Nairobi.
ru-t00004	В прошлом году Sami ездил в Berlin.
ru-t00005	Ivan работает в Berlin.
ru-t00006	Yuki работает в Cairo.
ru-t00007	Omar живёт в Delhi.
ru-t00008	Anna живёт в Hanoi.
ru-t00009	Anna работает в Paris.
ru-t00010	В прошлом году Yuki ездил в Lima.
ru-t00011	Sami живёт в Delhi.
ru-t00012	Sami работает в Nairobi.
ru-t00013	В прошлом году David ездил в Delhi.
ru-t00014	В прошлом году Maria ездил в Nairobi.
ru-t00015	В прошлом году Lena ездил в Paris.
