"""One ranked index over intents, FAQ entries, small talk and off-topic subjects.

`lexical` scores character n-grams (kana folding, synonyms, stop phrases), `semantic` scores
sentence embeddings from a model shipped in a wheel, `index` fuses both and decides (answer,
"もしかして", off-topic redirect, unknown), `data` loads what is matched (intents.yaml here and
the FAQ's models/faq.yaml).
"""
