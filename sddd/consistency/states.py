"""Sentences that say a vLLM feature is on or off, and who a model is run by, as claims.

"Prefix caching is disabled", "sans chunked prefill", "- **Prefix caching** : ❌" become flag
claims (``--enable-prefix-caching`` = ``false``) that drift checks like a written flag: against
the profile, or vLLM's default when the profile leaves the flag out. "The medium service runs
Qwen/Qwen3-32B-AWQ" becomes a model claim. Sentences that give examples, ask, say what would
happen (if, when, to enable...) or what someone believed claim nothing; neither does a state
after "not" / "pas", nor one in quotation marks ("prefix caching disabled", as it was called).
"""

from __future__ import annotations

import re

from sddd.consistency.claims import EXAMPLE_WORDS, Walker

FEATURES = {
    "--enable-prefix-caching": r"(?:-{0,2}enable[-_])?(?:automatic\s+)?prefix[\s_-]?caching|"
                               r"cache\s+de\s+pr[ée]fixes?",
    "--enable-chunked-prefill": r"(?:-{0,2}enable[-_])?chunked[\s_-]?prefill",
}
# Short words are states only at the end of a clause ("prefix caching on medium" is a place).
_END = r"(?=\s*(?:$|[.,;:!)(|#/—–-]|\bby default|\bpar d[ée]faut))"
OFF = (r"(?:disabled|désactivée?s?|desactivee?s?|retirée?s?|inactive?|turned\s+off|not\s+enabled|"
       rf"(?:pas|non)\s+activée?s?|❌|✗)|(?:off|false|no|non){_END}")
ON = rf"(?:enabled|activée?s?|turned\s+on|✅|✓)|(?:on|true|yes|oui|active|actif){_END}"
_LINK = (r"(?:[*_`'\"]+|\s|:|=|\||→|->|is|are|was|were|stays|remains|est|sont|reste|était|now|still|"
         r"always|toujours|désormais|maintenant|bien|kept|left|laissée?|\([^)]{0,20}\))*")
_ARTICLE = r"(?:the\s+|le\s+|la\s+|du\s+|de\s+la\s+|de\s+|d'|l')?"
_OFF_VERB = (r"(?:disable[sd]?|disabling|désactiv(?:e[rz]?|ée?s?|ation)|without|sans|turn(?:ed|s)?\s+off|"
             r"retir(?:e[rz]?|ée?s?))")
_ON_VERB = r"(?:enable[sd]?|enabling|activ(?:e[rz]?|ée?s?|ation)|turn(?:ed|s)?\s+on)"
HEDGES = re.compile(r"\b(?:if|when|whether|unless|would|could|might|can|to\s+(?:enable|disable|turn)|si|"
                    r"quand|lorsque|pourrai[et]|peut|pouvez|pour\s+(?:activer|désactiver)|"
                    r"concluded|believed|thought|assumed|supposed|claimed|pensait|croyait|supposait)\b|\?|"
                    r"^\W*(?:to|pour)\s+\w+", re.IGNORECASE)
QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|«[^»\n]*»")
NEGATION = re.compile(r"(?:\b(?:not|never|ne|jamais|pas|aucun)\b|n't|\bn')\W*(?:\w+\W+){0,2}$",
                      re.IGNORECASE)
NOT_A_MODEL = re.compile(r"\.(?:md|ya?ml|json|py|sh|ps1|txt|toml)$|"
                         r"^(?:docs|profiles|configs?|scripts|archives?)/", re.IGNORECASE)
RUNS = re.compile(r"\b(?:runs|serves|served|running|serving|deploys|sert|exécute|déploie|fait\s+tourner)"
                  r"\s+(?:the\s+model\s+|le\s+modèle\s+)?`?((?:[A-Za-z0-9][\w.-]*)/[A-Za-z0-9][\w.+-]*)`?")


def _patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    out = []
    for flag, feature in FEATURES.items():
        for value, state in (("false", OFF), ("true", ON)):
            out.append((flag, value, re.compile(rf"(?<!\w)(?:{feature})\b{_LINK}(?:{state})",
                                                re.IGNORECASE)))
        for value, verb in (("false", _OFF_VERB), ("true", _ON_VERB)):
            out.append((flag, value, re.compile(rf"\b{verb}\s+{_ARTICLE}[`*]*(?:{feature})\b",
                                                re.IGNORECASE)))
    return out


PATTERNS = _patterns()


def state_of(cell: str) -> str | None:
    """``true``/``false`` when a table cell is a state (``✅``, ``off``, ``Désactivé``), else None."""
    text = re.sub(r"[*`_]", "", cell).strip()
    for value, state in (("false", OFF), ("true", ON)):
        if re.match(rf"^(?:{state})(?!\w)", text, re.IGNORECASE):
            return value
    return None


def feature_flag(name: str) -> str | None:
    """The flag a table row's first cell names: ``Prefix caching`` -> ``--enable-prefix-caching``."""
    text = re.sub(r"[*`_]", " ", name).strip()
    return next((f for f, feature in FEATURES.items() if re.fullmatch(feature, text, re.IGNORECASE)), None)


def feature_states(w: Walker, line: str, lineno: int, where: str) -> None:
    """Claims of the sentences of ``line`` that say a feature is on or off."""
    item = re.match(r"^\s*(?:[-*+]|\d+[.)])\s", line) is not None  # a list item is its own sentence
    for flag, value, pattern in PATTERNS:
        for m in pattern.finditer(line):
            sentence = w.sentence(lineno, m.start())[0] if where == "prose" and not item else line
            if HEDGES.search(sentence) or EXAMPLE_WORDS.search(sentence):
                continue
            if NEGATION.search(line[max(0, m.start() - 30):m.start()]):
                continue
            if any(q.start() <= m.start() < q.end() for q in QUOTED.finditer(line)):
                continue  # "prefix caching disabled", as someone called it: a quotation
            w.flag(flag, value, lineno, line, where, pos=m.start())


def runs_model(w: Walker, line: str, lineno: int, where: str) -> None:
    """"The medium service runs Qwen/Qwen3-32B-AWQ": a model claim for the profile it names."""
    for m in RUNS.finditer(line):
        model = m.group(1).rstrip(".,;:")
        if line[m.end(1):m.end(1) + 1] == ":" or NOT_A_MODEL.search(model):
            continue  # an image (vllm/vllm-openai:TAG) or a file, not a model
        if not any(c.kind == "model" and c.line == lineno and c.value == model for c in w.claims):
            w.add("model", "model", model, lineno, line, where, pos=m.start(1))
