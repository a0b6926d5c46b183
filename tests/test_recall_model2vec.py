"""Semantic search with a real embedding library's loading code: a model2vec StaticModel
the test builds (a word-level tokenizer and a vector per word), saved with
save_pretrained and loaded back with from_pretrained from a local folder, as a user loads
a downloaded model, with the hub switched off. The vectors are the test's, so the
expected ranking is known."""

from __future__ import annotations

import os
from pathlib import Path

import model2vec  # in the test extra: a missing package fails the run, never skips
import numpy as np  # model2vec's own dependencies
import pytest
import tokenizers

import memstore

TOPICS = {"deploy": 0, "kubernetes": 0, "billing": 0, "cat": 1, "sleep": 1, "tuna": 1,
          "invoice": 2, "overdue": 2, "payment": 2}


def build_model(folder: Path) -> object:
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    words = ["[UNK]", "[PAD]", *TOPICS]
    tokenizer = tokenizers.Tokenizer(WordLevel({w: i for i, w in enumerate(words)},
                                               unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    vectors = np.zeros((len(words), 3), dtype=np.float32)
    for word, topic in TOPICS.items():
        vectors[words.index(word), topic] = 1.0  # one axis per topic
    model2vec.StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True) \
        .save_pretrained(str(folder))
    os.environ["HF_HUB_OFFLINE"] = "1"  # from_pretrained must read the folder, not a hub
    return model2vec.StaticModel.from_pretrained(str(folder))


def test_semantic_search_with_a_model2vec_model(tmp_path: Path) -> None:
    model = build_model(tmp_path / "model")
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    with memstore.connect(url, embedder=lambda texts: model.encode(texts).tolist(),  # type: ignore[attr-defined]
                          embedder_name="test-static-3") as mem:
        mem.init_schema()
        mem.save_message("c1", "user", "we deploy on kubernetes", user_id="u")
        mem.save_message("c1", "user", "my cat loves tuna", user_id="u")
        mem.save_message("c2", "user", "the invoice payment is overdue", user_id="u")
        hits = mem.search_messages("billing", user_id="u", mode="semantic", limit=3)
        assert hits[0].message.content == "we deploy on kubernetes"
        assert hits[0].score == pytest.approx(1.0)
        assert [round(h.score, 6) for h in hits[1:]] == [0.0, 0.0]
        hits = mem.search_messages("sleep", user_id="u", mode="hybrid", limit=1)
        assert [h.message.content for h in hits] == ["my cat loves tuna"]
