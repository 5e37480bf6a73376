Obrigado.
Bom dia.
Eu te amo.
Adeus.
