"""A tiny Kompress model in the layout `adapters.kompress.model` reads, built in milliseconds.

No registry ships the real weights (a ModernBERT fine-tune, 260-600 MB), so the tests build
the same contract: a fast-tokenizer `tokenizer.json` ([CLS] words [SEP], [PAD], [UNK]) and an
ONNX graph taking `input_ids` and `attention_mask` and returning `final_scores`. A token's
score is fixed by its spelling, so every test knows which words survive: a known word of six
or more letters scores above 0.5 (kept), shorter known words, punctuation and unknown words
score below (dropped); longer words score higher (the target-ratio ranking).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests import corpus

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
ONNX_FILE = "onnx/kompress-fp32.onnx"
MODEL_NAME = "tiny"
#: The tokenizer's pre-tokenizer split (tokenizers' `Whitespace`): runs of word characters,
#: runs of punctuation.
_PIECES = re.compile(r"\w+|[^\w\s]+")


def vocabulary() -> list[str]:
    """Every word the corpus's prose uses, lower-cased, plus its punctuation."""
    return sorted(set(_PIECES.findall(corpus.prose(40).lower())))


def token_score(token: str) -> float:
    """The score the graph gives a token: length / 10 for a known word, capped at 0.95."""
    if token in SPECIALS:
        return 0.0
    return min(0.95, len(token) / 10) if token.isalnum() else 0.1


def keeps(word: str, known: frozenset[str] | None = None) -> bool:
    """Whether the tiny model keeps `word` (before upstream's must-keep rules)."""
    known = known if known is not None else frozenset(vocabulary())
    pieces = [p for p in _PIECES.findall(word.lower()) if p in known]
    return max((token_score(p) for p in pieces), default=0.0) > 0.5


def build_tiny_kompress(directory: Path, onnx_file: str = ONNX_FILE) -> Path:
    """Write tokenizer.json and the ONNX graph under `directory` (created); returns it."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tokens = SPECIALS + vocabulary()
    ids = {token: index for index, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.WordLevel(ids, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])]
    )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))

    table = np.array([token_score(token) for token in tokens], dtype=np.float32)
    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["score_table", "input_ids"], ["token_scores"]),
            helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["token_scores", "mask"], ["final_scores"]),
        ],
        "tiny_kompress",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)],
        [helper.make_tensor_value_info("final_scores", TensorProto.FLOAT, dims)],
        initializer=[numpy_helper.from_array(table, "score_table")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime release this project supports
    onnx.checker.check_model(model)
    path = directory / onnx_file
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return directory
