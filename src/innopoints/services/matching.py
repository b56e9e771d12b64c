"""Research–demand matching in Chinese text (pure Python + numpy, no Django).

A demand (企业需求) is matched against the research supply list (院所科研清单):

1. Segmentation with jieba in search mode (long words and the words inside them), on a
   private `jieba.Tokenizer` whose dictionary also knows every supply keyword (the supply
   list's curated phrases become words: 碳化硅, 水肥一体化, ...). Stop words, punctuation
   and single characters are dropped.
2. BM25 over each supply item's title and keywords (weighted twice) and description,
   vectorised with numpy postings, with Lucene's IDF `log(1 + (N - n + .5) / (n + .5))`,
   which stays positive: `rank_bm25`'s Okapi IDF is 0 or negative for a word found in half
   the items or more, so on a zone's short list (or two items) real matches scored 0.
3. Optional filters: the technology field and the demand firm's industry section
   (GB/T 4754) against the sections the supply item serves.

Every candidate carries the query terms it matched (highest IDF first), which the pages
highlight. `keyword_overlap_rank` is the plain baseline the benchmark compares against.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np

jieba.setLogLevel(logging.WARNING)

DATA_DIR = Path(__file__).parent / "data"
KEYWORD_SPLIT = re.compile(r"[、,，;；/\s]+")
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "等",
        "对",
        "在",
        "为",
        "以",
        "用",
        "于",
        "中",
        "并",
        "将",
        "从",
        "是",
        "有",
        "可",
        "能",
        "需",
        "要",
        "我",
        "我们",
        "我司",
        "公司",
        "企业",
        "希望",
        "需要",
        "进行",
        "实现",
        "提供",
        "采用",
        "相关",
        "一种",
        "方案",
        "方法",
        "技术",
        "问题",
        "目前",
        "现有",
        "通过",
        "能够",
        "可以",
        "提高",
        "提升",
        "降低",
        "解决",
        "合作",
        "寻找",
        "开发",
        "研发",
        "应用",
        "用于",
        "基于",
        "面向",
        "适用",
        "适用于",
        "以及",
        "其",
    ]
)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_known: set[str] = set()


def _get_tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            tok = jieba.Tokenizer()
            tok.initialize()
            _tokenizer = tok
        return _tokenizer


def split_keywords(text: str) -> list[str]:
    """Keywords written with 、 , ; / or spaces between them."""
    return [k.strip() for k in KEYWORD_SPLIT.split(text or "") if k.strip()]


def add_vocabulary(words: Iterable[str]) -> None:
    """Teach the tokenizer domain phrases (idempotent; the vocabulary only grows)."""
    tok = _get_tokenizer()
    with _lock:
        for w in words:
            w = w.strip().lower()
            if len(w) >= 2 and w not in _known and " " not in w:
                tok.add_word(w, freq=20000)
                _known.add(w)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of `text`, lower-cased, without stop words and one-character
    tokens (except digits/latin of two or more characters)."""
    tok = _get_tokenizer()
    out = []
    for t in tok.lcut_for_search((text or "").lower()):
        t = t.strip()
        if len(t) < 2 or t in STOPWORDS or not _WORD.search(t):
            continue
        out.append(t)
    return out


@dataclass(frozen=True)
class SupplyDoc:
    """What the matcher needs of one supply item."""

    id: int | str
    title: str
    keywords: str = ""
    description: str = ""
    field: str = ""
    industries: str = ""  # GB/T 4754 sections, e.g. "C,I"

    def text(self) -> str:
        return f"{self.title} {self.title} {self.keywords} {self.keywords} {self.description}"

    def sections(self) -> set[str]:
        return {s.strip().upper() for s in (self.industries or "").split(",") if s.strip()}


@dataclass(frozen=True)
class Candidate:
    """One ranked supply item for a demand."""

    id: int | str
    score: float
    terms: tuple[str, ...]  # matched query terms, most specific (highest IDF) first


class BM25:
    """Okapi BM25 (k1, b) with Lucene's non-negative IDF, over token lists."""

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.n = len(corpus)
        lengths = np.array([len(d) for d in corpus], dtype=float)
        avg = lengths.mean() if self.n and lengths.mean() > 0 else 1.0
        self.norm = k1 * (1 - b + b * lengths / avg)
        self.k1 = k1
        postings: dict[str, dict[int, int]] = {}
        for i, doc in enumerate(corpus):
            for t in doc:
                postings.setdefault(t, {}).setdefault(i, 0)
                postings[t][i] += 1
        self.postings = {
            t: (np.fromiter(p.keys(), dtype=np.int64), np.fromiter(p.values(), dtype=float))
            for t, p in postings.items()
        }
        self.idf = {
            t: float(np.log(1 + (self.n - len(ix) + 0.5) / (len(ix) + 0.5)))
            for t, (ix, _tf) in self.postings.items()
        }

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """The score of every document for the query terms."""
        out = np.zeros(self.n)
        for t in query:
            hit = self.postings.get(t)
            if hit is None:
                continue
            ix, tf = hit
            out[ix] += self.idf[t] * tf * (self.k1 + 1) / (tf + self.norm[ix])
        return out


class Matcher:
    """A BM25 index over a supply list; `rank` answers one demand."""

    def __init__(self, docs: Sequence[SupplyDoc]) -> None:
        self.docs = list(docs)
        add_vocabulary(k for d in self.docs for k in split_keywords(d.keywords))
        self.tokens = [tokenize(d.text()) for d in self.docs]
        self.token_sets = [set(t) for t in self.tokens]
        self.bm25 = BM25(self.tokens)
        self.fields = np.array([d.field for d in self.docs], dtype=object)
        self.sections = [d.sections() for d in self.docs]

    def rank(
        self, query: str, *, field: str = "", section: str = "", k: int = 10
    ) -> list[Candidate]:
        """The `k` best supply items for `query` (score > 0 only), optionally only those of
        technology `field` and those serving industry `section`."""
        if not self.docs:
            return []
        q = list(dict.fromkeys(tokenize(query)))
        if not q:
            return []
        scores = self.bm25.scores(q)
        mask = scores > 0
        if field:
            mask &= self.fields == field
        if section:
            s = section.strip().upper()[:1]
            mask &= np.array([not secs or s in secs for secs in self.sections], dtype=bool)
        idx = np.flatnonzero(mask)
        order = idx[np.argsort(-scores[idx], kind="stable")][:k]
        idf = self.bm25.idf
        return [
            Candidate(
                id=self.docs[i].id,
                score=round(float(scores[i]), 4),
                terms=tuple(
                    sorted(
                        (t for t in q if t in self.token_sets[i]),
                        key=lambda t: (-idf.get(t, 0.0), t),
                    )
                ),
            )
            for i in order
        ]


def keyword_overlap_rank(query: str, docs: Sequence[SupplyDoc], k: int = 10) -> list[Candidate]:
    """Baseline: count the supply item's keywords found verbatim in the demand text."""
    text = (query or "").lower()
    scored = []
    for pos, d in enumerate(docs):
        hits = tuple(w for w in split_keywords(d.keywords) if w.lower() in text)
        if hits:
            scored.append((-len(hits), pos, Candidate(d.id, float(len(hits)), hits)))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [c for _, _, c in scored[:k]]


def highlight(text: str, terms: Iterable[str]) -> str:
    """`text` HTML-escaped with every occurrence of `terms` wrapped in <mark> (longest first)."""
    terms = sorted({t for t in terms if t}, key=len, reverse=True)
    if not terms:
        return html.escape(text or "")
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text or ""):
        out.append(html.escape(text[last : m.start()]))
        out.append(f"<mark>{html.escape(m.group(0))}</mark>")
        last = m.end()
    out.append(html.escape((text or "")[last:]))
    return "".join(out)


# ---------------------------------------------------------------------------- evaluation


def load_eval_set() -> tuple[list[SupplyDoc], list[dict]]:
    """The labelled evaluation set shipped in `data/`: supply items and demands with the
    codes of their relevant supply items."""
    import csv

    with (DATA_DIR / "supply.csv").open(encoding="utf-8") as fh:
        supply = [
            SupplyDoc(
                id=r["code"],
                title=r["title"],
                keywords=r["keywords"],
                description=r["description"],
                field=r["field"],
                industries=r["industries"],
            )
            for r in csv.DictReader(fh)
        ]
    with (DATA_DIR / "demands.csv").open(encoding="utf-8") as fh:
        demands = [{**r, "relevant": set(r["relevant"].split(","))} for r in csv.DictReader(fh)]
    return supply, demands


def precision_recall(
    ranked: Sequence[Sequence[int | str]], relevant: Sequence[set], p_at: int = 5, r_at: int = 10
) -> tuple[float, float]:
    """Mean precision@p_at and recall@r_at over queries."""
    precisions, recalls = [], []
    for ids, rel in zip(ranked, relevant, strict=True):
        precisions.append(len(set(ids[:p_at]) & rel) / p_at)
        recalls.append(len(set(ids[:r_at]) & rel) / len(rel))
    return float(np.mean(precisions)), float(np.mean(recalls))
